import { context, propagation, type Context, type TextMapGetter } from '@opentelemetry/api';

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
