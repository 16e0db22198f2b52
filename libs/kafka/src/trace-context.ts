import { context, propagation, ROOT_CONTEXT, type Context, type TextMapGetter } from '@opentelemetry/api';

const getter: TextMapGetter<Record<string, string>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

export function injectTraceContext(headers: Record<string, string>, ctx: Context = context.active()): void {
  propagation.inject(ctx, headers);
}

export function extractTraceContext(headers: Record<string, string>): Context {
  return propagation.extract(context.active(), headers, getter);
}

/** The W3C traceparent of the active span (the consumer span, inside a handler); null when there is none. */
export function currentTraceparent(): string | null {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier['traceparent'] ?? null;
}

/**
 * The context of the span a stored traceparent names, and nothing of the caller's: work done later for one task (a
 * webhook attempt claimed in the wake of another task's event) must not land in the trace that happens to be active.
 * The root context, starting a trace of its own, when it names none.
 */
export function contextFromTraceparent(traceparent: string | null): Context {
  return traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent }, getter) : ROOT_CONTEXT;
}
