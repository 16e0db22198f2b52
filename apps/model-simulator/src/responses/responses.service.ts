import { randomBytes } from 'node:crypto';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { SimulatorOptions } from '../config';
import type { BilledUsage } from '../bill/call-cost';
import type { BilledServiceTier, BilledStatus } from '../bill/simulator-bill';
import { CallSimulator } from '../call-simulator';
import { promptTexts, simulateCompletion } from '../completion-simulator';
import { OpenAiHttpError, openAiErrorBody } from '../openai-error';
import { parseDirectives } from '../prompt-directives';
import { SIMULATOR_OPTIONS } from '../simulator.tokens';
import { asChatCompletionRequest, parseResponseRequest } from './response-request.schema';
import {
  endStatus,
  plannedUsage,
  responseBody,
  usedUsage,
  type ResponseBody,
  type ResponsePlan,
  type ResponseStatus,
} from './response-body';
import { ResponseStore } from './response-store';

// setTimeout overflows (fires at once) past 2^31-1 ms.
const MAX_TIMER_MS = 2 ** 31 - 1;

interface RunningResponse {
  plan: ResponsePlan;
  status: ResponseStatus;
  // Real (time-scaled) epoch ms the work started and will end; end is null for the `hang` fault.
  startedAtMs: number;
  endsAtMs: number | null;
  timer: NodeJS.Timeout | undefined;
  body: ResponseBody;
  call: { requestId: string; clientRequestId: string | null; clientConnected: () => boolean };
  ended: Promise<void>;
  end: () => void;
}

export interface CallContext {
  faultHeader: string | undefined;
  requestId: string;
  clientRequestId: string | null;
  /** Whether the client of a synchronous call is still there; billed the same either way. */
  clientConnected: () => boolean;
}

export type CreateOutcome =
  | { kind: 'hang' }
  | { kind: 'background'; body: ResponseBody }
  | { kind: 'sync'; ended: Promise<void>; body: () => ResponseBody };

// Runs Responses API calls on the chat path's simulation (same tokens, answer, timing, faults), holds them by id so
// background ones can be polled and cancelled, and bills each once, when it ends.
@Injectable()
export class ResponsesService implements OnApplicationShutdown {
  private readonly store: ResponseStore<RunningResponse>;

  constructor(
    @Inject(SIMULATOR_OPTIONS) options: SimulatorOptions,
    private readonly calls: CallSimulator,
  ) {
    this.store = new ResponseStore(options.maxStoredResponses);
  }

  create(body: unknown, context: CallContext): CreateOutcome {
    const parsed = parseResponseRequest(body);
    if (!parsed.ok)
      throw OpenAiHttpError.invalidRequest(parsed.problem.message, parsed.problem.param, parsed.problem.code);
    const request = parsed.request;
    const model = this.calls.model(request.model);
    const chat = asChatCompletionRequest(request);
    const texts = promptTexts(chat);
    const directives = parseDirectives(texts);
    const serviceTier: BilledServiceTier = request.service_tier === 'flex' ? 'flex' : 'default';
    const fault = this.calls.fault(context.faultHeader ?? directives.fault, body, model, serviceTier);
    const background = request.background === true;
    // A synchronous call that hangs sends nothing and is never stored, as on the chat path.
    if (fault === 'hang' && !background) return { kind: 'hang' };

    const completion = simulateCompletion({
      request: chat,
      model,
      directives,
      texts,
      runaway: fault === 'runaway',
    });
    const now = Date.now();
    const { input: _input, ...echoed } = request;
    const plan: ResponsePlan = {
      id: `resp_${randomBytes(24).toString('hex')}`,
      createdAtMs: now,
      modelId: model.id,
      reasoningModel: model.reasoning,
      request: echoed,
      serviceTier,
      background,
      completion,
    };
    let end = (): void => {};
    const ended = new Promise<void>((resolve) => (end = resolve));
    const delayMs = fault === 'hang' ? null : this.calls.scaled(completion.latencyMs);
    const running: RunningResponse = {
      plan,
      status: 'queued',
      startedAtMs: now,
      endsAtMs: delayMs === null ? null : now + delayMs,
      timer: undefined,
      body: responseBody(plan, 'queued', null),
      call: {
        requestId: context.requestId,
        clientRequestId: context.clientRequestId,
        clientConnected: background ? () => true : context.clientConnected,
      },
      ended,
      end,
    };
    // store: false keeps a synchronous response out of memory; background ones are always stored.
    const stored = background || request.store !== false;
    if (stored && !this.store.add(plan.id, running)) {
      throw new OpenAiHttpError(
        429,
        openAiErrorBody(
          `The simulator holds ${this.store.capacity} responses that are still running; none can be forgotten to make room (SIM_MAX_STORED_RESPONSES).`,
          'requests',
          null,
          'too_many_responses',
        ),
      );
    }
    const queued = running.body;
    // No queue in the simulator: the work starts as soon as it is accepted.
    this.setStatus(running, 'in_progress', null);
    if (delayMs !== null) {
      if (delayMs <= 0 && !background) this.finish(running);
      else {
        running.timer = setTimeout(() => this.finish(running), Math.min(delayMs, MAX_TIMER_MS));
        // Nothing waits on a background response: it must not hold the process open.
        running.timer.unref();
      }
    }
    if (background) return { kind: 'background', body: queued };
    return { kind: 'sync', ended, body: () => running.body };
  }

  retrieve(id: string): ResponseBody {
    return this.found(id).body;
  }

  /** Cancels a background response; one that has already ended is returned as it is. */
  cancel(id: string): ResponseBody {
    const running = this.found(id);
    if (!running.plan.background) {
      throw OpenAiHttpError.invalidRequest(
        'Only responses created with background=true can be cancelled.',
        null,
        'not_background',
      );
    }
    if (running.status !== 'queued' && running.status !== 'in_progress') return running.body;
    clearTimeout(running.timer);
    const ranFraction =
      running.endsAtMs === null || running.endsAtMs <= running.startedAtMs
        ? 0
        : (Date.now() - running.startedAtMs) / (running.endsAtMs - running.startedAtMs);
    const usage = usedUsage(plannedUsage(running.plan.completion), ranFraction);
    this.bill(running, usage, 'cancelled');
    this.setStatus(running, 'cancelled', usage);
    this.ended(running);
    return running.body;
  }

  onApplicationShutdown(): void {
    for (const running of this.store.running()) clearTimeout(running.timer);
  }

  private finish(running: RunningResponse): void {
    running.timer = undefined;
    const usage = plannedUsage(running.plan.completion);
    const status = endStatus(running.plan.completion);
    this.bill(running, usage, status);
    this.setStatus(running, status, usage);
    this.ended(running);
  }

  private ended(running: RunningResponse): void {
    this.store.markEnded(running.plan.id);
    running.end();
  }

  private setStatus(running: RunningResponse, status: ResponseStatus, usage: BilledUsage | null): void {
    running.status = status;
    running.body = responseBody(running.plan, status, usage, Date.now());
  }

  private bill(running: RunningResponse, usage: BilledUsage, status: BilledStatus): void {
    const { plan, call } = running;
    this.calls.bill({
      requestId: call.requestId,
      clientRequestId: call.clientRequestId,
      clientConnected: call.clientConnected(),
      model: this.calls.model(plan.modelId),
      usage,
      api: 'responses',
      responseId: plan.id,
      serviceTier: plan.serviceTier,
      background: plan.background,
      status,
    });
  }

  private found(id: string): RunningResponse {
    const running = this.store.get(id);
    if (!running) {
      throw new OpenAiHttpError(
        404,
        openAiErrorBody(
          `No response found with id '${id.slice(0, 100)}'.`,
          'invalid_request_error',
          'response_id',
          'response_not_found',
        ),
      );
    }
    return running;
  }
}
