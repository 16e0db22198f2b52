import { z } from 'zod';

// CloudEvents 1.0 envelope. On Kafka we use the binary content mode of the CloudEvents Kafka binding
// (attributes as `ce_*` headers, data as the JSON value); structured mode (the whole envelope as the value,
// content-type application/cloudevents+json) is accepted from upstream producers too.
export interface EventEnvelope<T = unknown> {
  readonly specversion: '1.0';
  readonly id: string;
  readonly type: string;
  readonly source: string;
  readonly time: string;
  readonly tenantId: string;
  readonly taskId: string | null;
  readonly data: T;
}

export const CE_HEADERS = {
  specversion: 'ce_specversion',
  id: 'ce_id',
  type: 'ce_type',
  source: 'ce_source',
  time: 'ce_time',
  tenantId: 'ce_tenantid',
  taskId: 'ce_taskid',
  contentType: 'content-type',
  // W3C trace context, under the name OpenTelemetry propagators read.
  traceparent: 'traceparent',
  tracestate: 'tracestate',
} as const;

export const CE_STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json';

const idSchema = z.string().min(1).max(200);

export const envelopeAttributesSchema = z.object({
  specversion: z.literal('1.0', { error: "specversion must be '1.0'" }),
  id: idSchema,
  type: z.string().min(1).max(200),
  source: z.string().min(1).max(500),
  time: z.iso.datetime({ offset: true }).optional(),
  tenantid: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'tenantid must be a tenant slug'),
  taskid: z.uuid().optional(),
});

export const structuredEnvelopeSchema = envelopeAttributesSchema.extend({
  datacontenttype: z.string().optional(),
  data: z.unknown(),
});
