import type {
  ChatMessage,
  ContextSelectionEntry,
  EventEnvelope,
  TaskAccepted,
  TaskSpec,
} from '@deliberate/contracts';
import { type CompleteRequest, ModelCallError, type ModelCallResult } from '@deliberate/llm';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { z } from 'zod';
import { TRIAGE_CONFIG, type TriageConfig } from '../config';
import { lastUserText } from './task-prompt';

const EXCERPT_CHARS = 2_000;

const RANKING_JSON_SCHEMA = {
  name: 'context_ranking',
  strict: true,
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['ranking'],
    properties: {
      ranking: {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['index', 'score', 'reason'],
          properties: { index: { type: 'integer' }, score: { type: 'number' }, reason: { type: 'string' } },
        },
      },
    },
  },
} as const;

const rankingSchema = z.object({
  ranking: z.array(z.object({ index: z.int().nonnegative(), score: z.number(), reason: z.string() })),
});

/** One ranking call on the fast model. */
export type RankCall = (
  prompt: ChatMessage[],
  options: { responseFormat: CompleteRequest['responseFormat'] },
) => Promise<ModelCallResult>;

export interface ContextSelection {
  spec: TaskSpec;
  selection: ContextSelectionEntry[] | null;
}

// The reasoning model bills every token it reads and thinks about: it must not spend its budget comparing
// fifty documents. The fast model ranks them and only the top k go on, with the reasons kept for the audit.
@Injectable()
export class ContextRanker {
  private readonly logger = new Logger(ContextRanker.name);

  constructor(@Inject(TRIAGE_CONFIG) private readonly config: TriageConfig) {}

  /** `rank` makes the fast-model call (reserved, recorded and settled by the caller). */
  async select(event: EventEnvelope<TaskAccepted>, rank: RankCall): Promise<ContextSelection> {
    const { spec } = event.data;
    const k = this.config.TRIAGE_CONTEXT_TOP_K;
    if (spec.context.length <= k) return { spec, selection: null };
    let ranked: { index: number; score: number; reason: string }[];
    const prompt: ChatMessage[] = [
      {
        role: 'system',
        content:
          'Rank the documents by how much each matters for answering the question. Score each from 0 (irrelevant) to 1 (essential) and give a short reason. Rank every document.',
      },
      { role: 'user', content: rankingPrompt(spec) },
    ];
    try {
      const r = await rank(prompt, {
        responseFormat: { type: 'json_schema', json_schema: RANKING_JSON_SCHEMA },
      });
      ranked = rankingSchema
        .parse(JSON.parse(r.content))
        .ranking.filter((e) => e.index < spec.context.length);
    } catch (e) {
      // A denied hold, an outage past the deadline or a lost claim is the task's business, not the ranking's.
      if (!(e instanceof ModelCallError) && !(e instanceof SyntaxError) && !(e instanceof z.ZodError))
        throw e;
      // Without a ranking, dropping documents blindly could drop the one that matters: keep them all.
      this.logger.warn({
        msg: 'context ranking failed; passing every document',
        taskId: event.taskId,
        error: e.message,
      });
      return { spec, selection: null };
    }
    const byIndex = new Map(ranked.map((e) => [e.index, e]));
    // Documents the ranker left out rank last, in their original order.
    const order = [
      ...ranked.map((e) => e.index),
      ...spec.context.map((_, i) => i).filter((i) => !byIndex.has(i)),
    ];
    const kept = new Set([...new Set(order)].slice(0, k));
    const selection: ContextSelectionEntry[] = spec.context.map((doc, index) => ({
      index,
      id: doc.id ?? null,
      title: doc.title ?? null,
      score: byIndex.get(index)?.score ?? 0,
      reason: byIndex.get(index)?.reason ?? 'not ranked by the model',
      kept: kept.has(index),
    }));
    return {
      spec: { ...spec, context: spec.context.filter((_, i) => kept.has(i)) },
      selection,
    };
  }
}

function rankingPrompt(spec: TaskSpec): string {
  const docs = spec.context
    .map((d, i) => {
      const body = d.content.length > EXCERPT_CHARS ? `${d.content.slice(0, EXCERPT_CHARS)} […]` : d.content;
      return `<document index="${i}"${d.title ? ` title="${d.title}"` : ''}>${body}</document>`;
    })
    .join('\n');
  return `Question: ${lastUserText(spec)}\n\n${docs}`;
}
