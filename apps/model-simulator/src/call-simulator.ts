import { Inject, Injectable } from '@nestjs/common';
import type { SimulatorOptions } from './config';
import { callCostMicroUsd, pricingAtTier, type BilledUsage } from './bill/call-cost';
import { SimulatorBill, type BilledCall, type BilledServiceTier } from './bill/simulator-bill';
import { FaultInjector } from './fault-injector';
import { OpenAiHttpError, openAiErrorBody } from './openai-error';
import type { SimulatedModel } from './simulator-models';
import { SIMULATOR_OPTIONS } from './simulator.tokens';

// What chat completions and the Responses API share around the simulation itself: the model catalogue, one fault
// injector (so configured rates draw from one seeded sequence whichever API is called) and billing at the served tier.

/** A fault that changes the answer rather than refusing the call. */
export type AnswerFault = 'hang' | 'runaway' | null;

export type BillableCall = Omit<BilledCall, 'model' | 'usage' | 'costMicroUsd' | 'billedAt'> & {
  model: SimulatedModel;
  usage: BilledUsage;
};

@Injectable()
export class CallSimulator {
  private readonly models: ReadonlyMap<string, SimulatedModel>;
  private readonly faults: FaultInjector;

  constructor(
    @Inject(SIMULATOR_OPTIONS) private readonly options: SimulatorOptions,
    private readonly billing: SimulatorBill,
  ) {
    this.models = new Map(options.models.map((m) => [m.id, m]));
    this.faults = new FaultInjector({
      rate429: options.faultRate429,
      rate500: options.faultRate500,
      randomSeed: options.randomSeed,
    });
  }

  /** Simulated milliseconds to real ones. */
  scaled(latencyMs: number): number {
    return latencyMs * this.options.timeScale;
  }

  /** The catalogue's model, or OpenAI's 404 model_not_found. */
  model(id: string): SimulatedModel {
    const model = this.models.get(id);
    if (!model) {
      throw new OpenAiHttpError(
        404,
        openAiErrorBody(
          `The model \`${id}\` does not exist or you do not have access to it.`,
          'invalid_request_error',
          null,
          'model_not_found',
        ),
      );
    }
    return model;
  }

  /**
   * Decides the fault for this attempt from the `x-sim-fault` header, else the prompt directive, else the configured
   * rates. Throws the OpenAI error of a refusing fault; returns the fault that shapes the answer, if any.
   */
  fault(
    requested: string | undefined,
    body: unknown,
    model: SimulatedModel,
    serviceTier: BilledServiceTier,
  ): AnswerFault {
    const fault = this.faults.decide(requested, body);
    if (fault && 'error' in fault)
      throw OpenAiHttpError.invalidRequest(fault.error, null, 'invalid_simulator_fault');
    switch (fault?.kind) {
      case '429':
        throw new OpenAiHttpError(
          429,
          openAiErrorBody(
            `Rate limit reached for ${model.id} (simulated). Please try again in ${fault.retryAfterMs}ms.`,
            'requests',
            null,
            'rate_limit_exceeded',
          ),
          // retry-after-ms is what the openai SDKs read first; retry-after is the standard, whole seconds.
          {
            'retry-after': String(Math.ceil(fault.retryAfterMs / 1_000)),
            'retry-after-ms': String(fault.retryAfterMs),
          },
        );
      case '500':
        throw new OpenAiHttpError(
          500,
          openAiErrorBody(
            'The server had an error while processing your request (simulated).',
            'server_error',
          ),
        );
      case '503':
        throw new OpenAiHttpError(
          503,
          openAiErrorBody(
            'The engine is currently overloaded, please try again later (simulated).',
            'server_error',
            null,
            'overloaded',
          ),
        );
      case 'flex_unavailable':
        // Only flex capacity is missing: the same request at the default tier is served.
        if (serviceTier !== 'flex') return null;
        throw new OpenAiHttpError(
          429,
          openAiErrorBody(
            `Resource unavailable: no flex capacity for ${model.id} right now (simulated). Retry later or use the default service tier.`,
            'invalid_request_error',
            'service_tier',
            'resource_unavailable',
          ),
        );
      case 'hang':
        return 'hang';
      case 'runaway':
        return 'runaway';
      case undefined:
        return null;
    }
  }

  /** Records one finished call at the model's price for the tier it was served at. */
  bill(call: BillableCall): BilledCall {
    const billed: BilledCall = {
      ...call,
      model: call.model.id,
      costMicroUsd: callCostMicroUsd(call.usage, pricingAtTier(call.model.pricing, call.serviceTier)),
      billedAt: new Date().toISOString(),
    };
    this.billing.record(billed);
    return billed;
  }
}
