import { taskSubmissionSchema } from '../task/task-spec.schema';
import { defineEvent } from './event-definition';

// A submission is signed for its tenant with one of the tenant's intake secrets, in the Standard Webhooks scheme
// (libs/contracts/src/signing): `v1,<base64 HMAC-SHA256>` over `${taskId}.${timestampSeconds}.${value}`, where value
// is the Kafka message value exactly as sent. The task id is the signed id because it is the submission's
// idempotency key: a replayed message admits nothing new, and moving a signature to another task id breaks it.
export const INTAKE_SIGNATURE_HEADERS = {
  timestamp: 'deliberate-timestamp',
  signature: 'deliberate-signature',
} as const;

// The intake topic for upstream systems: the same body as POST /v1/tasks. The envelope must carry tenantid and taskid.
export const taskSubmittedEvent = defineEvent({
  topic: 'tasks.task.submitted.v1',
  summary:
    "A task published by an upstream system, signed with one of its tenant's intake secrets. The gateway admits it (signature, tenant, schema, idempotency on task id) and publishes tasks.task.accepted.v1.",
  schema: taskSubmissionSchema,
  partitions: 12,
  key: 'taskId',
  producers: ['upstream systems'],
  consumers: ['gateway'],
  headers: {
    required: [INTAKE_SIGNATURE_HEADERS.timestamp, INTAKE_SIGNATURE_HEADERS.signature],
    properties: {
      [INTAKE_SIGNATURE_HEADERS.timestamp]: {
        type: 'string',
        pattern: '^[0-9]{1,12}$',
        description:
          'When the message was signed, in epoch seconds. Refused when it differs from the Kafka message timestamp by more than the tolerance (GATEWAY_INTAKE_SIGNATURE_TOLERANCE_MS, 5 min by default)',
      },
      [INTAKE_SIGNATURE_HEADERS.signature]: {
        type: 'string',
        description:
          "Standard Webhooks signature, 'v1,<base64 HMAC-SHA256>' over '<taskid>.<deliberate-timestamp>.<value>', keyed with the base64 part of a whsec_ intake secret of the tenant (POST /v1/admin/tenants/{tenantId}/intake-secrets). Several space-separated signatures are accepted (one per secret during a rotation)",
      },
    },
  },
});
