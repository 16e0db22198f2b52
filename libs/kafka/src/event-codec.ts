import {
  CE_HEADERS,
  CE_STRUCTURED_CONTENT_TYPE,
  envelopeAttributesSchema,
  escapeUnsafeText,
  type EventDefinition,
  type EventEnvelope,
  findUnsafeText,
  structuredEnvelopeSchema,
  unsafeTextProblem,
} from '@deliberate/contracts';
import type { IHeaders } from 'kafkajs';
import { isUtf8 } from 'node:buffer';
import type { z } from 'zod';
import { headersToStrings } from './headers';

export type DecodeStage = 'decode' | 'envelope' | 'schema';

export class DecodeError extends Error {
  constructor(
    readonly stage: DecodeStage,
    message: string,
  ) {
    super(message);
    this.name = 'DecodeError';
  }
}

export function formatZodIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 20)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

// Reads a Kafka message as a CloudEvent of `definition`: binary mode (ce_* headers) or structured mode
// (the whole envelope as the value). Every failure names what is wrong, for the dead-letter reason.
export function decodeEvent<D extends EventDefinition>(
  definition: D,
  value: Buffer | null,
  rawHeaders: IHeaders | undefined,
): EventEnvelope<z.infer<D['schema']>> {
  if (value === null || value.length === 0) throw new DecodeError('decode', 'empty message value');
  refuseUndecodableHeaders(rawHeaders);
  const headers = headersToStrings(rawHeaders);
  refuseUnsafeHeaders(headers);
  // Decoding would silently turn invalid bytes into U+FFFD: refuse them instead of storing a changed text.
  if (!isUtf8(value)) throw new DecodeError('decode', 'value is not valid UTF-8');
  let body: unknown;
  try {
    body = JSON.parse(value.toString('utf8'));
  } catch (e) {
    throw new DecodeError('decode', `value is not valid JSON: ${(e as Error).message}`);
  }

  let attributes: Record<string, unknown>;
  let data: unknown;
  if (headers[CE_HEADERS.specversion] !== undefined) {
    attributes = {
      specversion: headers[CE_HEADERS.specversion],
      id: headers[CE_HEADERS.id],
      type: headers[CE_HEADERS.type],
      source: headers[CE_HEADERS.source],
      time: headers[CE_HEADERS.time],
      tenantid: headers[CE_HEADERS.tenantId],
      taskid: headers[CE_HEADERS.taskId],
    };
    data = body;
    refuseUnsafeText(body, 'data');
  } else if (
    headers[CE_HEADERS.contentType]?.startsWith(CE_STRUCTURED_CONTENT_TYPE) ||
    (typeof body === 'object' && body !== null && 'specversion' in body)
  ) {
    refuseUnsafeText(body, '');
    const structured = structuredEnvelopeSchema.safeParse(body);
    if (!structured.success) throw new DecodeError('envelope', formatZodIssues(structured.error));
    attributes = structured.data;
    data = structured.data.data;
  } else {
    throw new DecodeError(
      'envelope',
      'not a CloudEvent: no ce_specversion header (binary mode) and no specversion in the value (structured mode)',
    );
  }

  const attrs = envelopeAttributesSchema.safeParse(attributes);
  if (!attrs.success) throw new DecodeError('envelope', formatZodIssues(attrs.error));
  if (attrs.data.type !== definition.topic) {
    throw new DecodeError('envelope', `type '${attrs.data.type}' does not belong on ${definition.topic}`);
  }
  if (definition.key === 'taskId' && !attrs.data.taskid) {
    throw new DecodeError('envelope', `taskid is required on ${definition.topic}`);
  }
  const parsed = definition.schema.safeParse(data);
  if (!parsed.success) throw new DecodeError('schema', formatZodIssues(parsed.error));

  return {
    specversion: '1.0',
    id: attrs.data.id,
    type: attrs.data.type,
    source: attrs.data.source,
    time: attrs.data.time ?? new Date().toISOString(),
    tenantId: attrs.data.tenantid,
    taskId: attrs.data.taskid ?? null,
    data: parsed.data as z.infer<D['schema']>,
  };
}

// NUL and lone surrogates can be neither stored (Postgres refuses them) nor retried into success: refused at decode.
function refuseUnsafeText(value: unknown, path: string): void {
  const unsafe = findUnsafeText(value, path);
  if (unsafe) throw new DecodeError('decode', `${unsafe.path}: ${unsafe.problem} is not allowed in text`);
}

// The headers read as text: CloudEvents attributes, the content type and the trace context. Others pass through
// untouched, as producers may put binary values there.
const isTextHeader = (name: string) =>
  name.startsWith('ce_') ||
  name === CE_HEADERS.contentType ||
  name === CE_HEADERS.traceparent ||
  name === CE_HEADERS.tracestate;

function refuseUndecodableHeaders(rawHeaders: IHeaders | undefined): void {
  for (const [name, value] of Object.entries(rawHeaders ?? {})) {
    if (!isTextHeader(name)) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      if (Buffer.isBuffer(v) && !isUtf8(v)) {
        throw new DecodeError('decode', `header ${escapeUnsafeText(name)}: not valid UTF-8`);
      }
    }
  }
}

function refuseUnsafeHeaders(headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) {
    if (!isTextHeader(name)) continue;
    const problem = unsafeTextProblem(value);
    if (problem) {
      throw new DecodeError('decode', `header ${escapeUnsafeText(name)}: ${problem} is not allowed in text`);
    }
  }
}

export function encodeHeaders(envelope: EventEnvelope): Record<string, string> {
  const headers: Record<string, string> = {
    [CE_HEADERS.specversion]: envelope.specversion,
    [CE_HEADERS.id]: envelope.id,
    [CE_HEADERS.type]: envelope.type,
    [CE_HEADERS.source]: envelope.source,
    [CE_HEADERS.time]: envelope.time,
    [CE_HEADERS.tenantId]: envelope.tenantId,
    [CE_HEADERS.contentType]: 'application/json',
  };
  if (envelope.taskId) headers[CE_HEADERS.taskId] = envelope.taskId;
  return headers;
}
