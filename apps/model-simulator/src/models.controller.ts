import { Controller, Get, Inject, Param, UseGuards } from '@nestjs/common';
import type { SimulatorOptions } from './config';
import { ApiKeyGuard } from './api-key.guard';
import { pricingAtTier } from './bill/call-cost';
import { OpenAiHttpError, openAiErrorBody } from './openai-error';
import type { SimulatedModel } from './simulator-models';
import { SIMULATOR_OPTIONS } from './simulator.tokens';

export interface ModelEntry {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  // Extensions of OpenAI's model object: the stack reads prices and tiers from here.
  tier: SimulatedModel['tier'];
  reasoning: boolean;
  max_output_tokens: number;
  pricing: {
    unit: 'micro_usd_per_1m_tokens';
    input: number;
    cached_input: number;
    output: number;
    // What a `service_tier: "flex"` call of the Responses API is billed at.
    flex: { input: number; cached_input: number; output: number };
  };
}

// Fixed so that /v1/models is byte-for-byte stable between runs.
const CATALOGUE_CREATED = 1_767_225_600;

function toEntry(model: SimulatedModel): ModelEntry {
  const flex = pricingAtTier(model.pricing, 'flex');
  return {
    id: model.id,
    object: 'model',
    created: CATALOGUE_CREATED,
    owned_by: 'deliberate-simulator',
    tier: model.tier,
    reasoning: model.reasoning,
    max_output_tokens: model.maxOutputTokens,
    pricing: {
      unit: 'micro_usd_per_1m_tokens',
      input: model.pricing.inputMicroUsdPerMTokens,
      cached_input: model.pricing.cachedInputMicroUsdPerMTokens,
      output: model.pricing.outputMicroUsdPerMTokens,
      flex: {
        input: flex.inputMicroUsdPerMTokens,
        cached_input: flex.cachedInputMicroUsdPerMTokens,
        output: flex.outputMicroUsdPerMTokens,
      },
    },
  };
}

@Controller('v1/models')
@UseGuards(ApiKeyGuard)
export class ModelsController {
  private readonly entries: ReadonlyMap<string, ModelEntry>;

  constructor(@Inject(SIMULATOR_OPTIONS) options: SimulatorOptions) {
    this.entries = new Map(options.models.map((m) => [m.id, toEntry(m)]));
  }

  @Get()
  list(): { object: 'list'; data: ModelEntry[] } {
    return { object: 'list', data: [...this.entries.values()] };
  }

  @Get(':id')
  retrieve(@Param('id') id: string): ModelEntry {
    const entry = this.entries.get(id);
    if (!entry) {
      throw new OpenAiHttpError(
        404,
        openAiErrorBody(
          `The model '${id}' does not exist`,
          'invalid_request_error',
          'model',
          'model_not_found',
        ),
      );
    }
    return entry;
  }
}
