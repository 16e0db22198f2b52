import { taskSubmissionSchema } from '@deliberate/contracts';
import type { EventPublisher } from '@deliberate/kafka';
import { HttpException } from '@nestjs/common';
import type { Response } from 'express';
import type { Principal } from '../auth/principal';
import type { GatewayConfig } from '../config';
import type { ReviewService } from '../reviews/review.service';
import { EVENT_ENVELOPE_ALLOWANCE_BYTES } from './accepted-event-size';
import type { TaskAdmissionService } from './task-admission.service';
import type { TaskRecord } from './task-record';
import type { TaskRepository } from './task.repository';
import { TasksController } from './tasks.controller';

class FakeAdmission {
  readonly admitted: unknown[] = [];
  admitHttp(
    _tenantId: string,
    submission: unknown,
  ): Promise<{ task: Partial<TaskRecord>; replayed: boolean }> {
    this.admitted.push(submission);
    return Promise.resolve({ task: { id: 'task-1', status: 'accepted' }, replayed: false });
  }
}

const KAFKA_MAX_MESSAGE_BYTES = 20_000;
const principal: Principal = { kind: 'tenant', tenantId: 't1', role: 'submitter', keyId: 'k1' };
const res = { setHeader: () => undefined } as unknown as Response;

function controller(admission: FakeAdmission): TasksController {
  return new TasksController(
    admission as unknown as TaskAdmissionService,
    {} as TaskRepository,
    {} as ReviewService,
    {} as EventPublisher,
    { KAFKA_MAX_MESSAGE_BYTES } as unknown as GatewayConfig,
  );
}

describe('TasksController.submit', () => {
  it("answers 413 and admits nothing when the task's event would exceed the Kafka message limit", async () => {
    const admission = new FakeAdmission();
    // The body alone is below the limit; the event adds the normalized spec and its envelope.
    const body = taskSubmissionSchema.parse({
      input: 'a'.repeat(KAFKA_MAX_MESSAGE_BYTES - EVENT_ENVELOPE_ALLOWANCE_BYTES),
    });
    const refused = await controller(admission)
      .submit(principal, undefined, body, res)
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(refused).toBeInstanceOf(HttpException);
    expect((refused as HttpException).getStatus()).toBe(413);
    expect((refused as HttpException).message).toMatch(/above the Kafka message limit of 20000 bytes/);
    expect(admission.admitted).toHaveLength(0);
  });

  it('admits a task whose event fits', async () => {
    const admission = new FakeAdmission();
    const body = taskSubmissionSchema.parse({ input: 'a'.repeat(KAFKA_MAX_MESSAGE_BYTES / 2) });
    await expect(controller(admission).submit(principal, undefined, body, res)).resolves.toMatchObject({
      id: 'task-1',
    });
    expect(admission.admitted).toHaveLength(1);
  });
});
