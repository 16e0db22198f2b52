import type {
  ChatMessage,
  ContextSelectionEntry,
  EventEnvelope,
  TaskAccepted,
  TaskSpec,
} from '@deliberate/contracts';
import { type CompleteRequest, ModelCallError, type ModelCallResult } from '@deliberate/llm';
import { TenantPolicyCache } from '@deliberate/tenant-policy';
import { Injectable, Logger } from '@nestjs/common';
import { z } from 'zod';
import { lastUserText } from './task-prompt';

const EXCERPT_CHARS = 2_000;
// A selection entry's reason is at most 1,000 characters (the event's schema); the model's may be longer.
const MAX_REASON_CHARS = 1_000;

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
// fifty documents. The fast model ranks them and only the tenant's top k go on, with the reasons kept for the audit;
// a document scoring under the tenant's relevance floor is not passed, even to fill k (it would only cost tokens).
@Injectable()
export class ContextRanker {
  private readonly logger = new Logger(ContextRanker.name);

  constructor(private readonly policies: TenantPolicyCache) {}

  /** `rank` makes the fast-model call (reserved, recorded and settled by the caller). */
  async select(event: EventEnvelope<TaskAccepted>, rank: RankCall): Promise<ContextSelection> {
    const { spec } = event.data;
    const { topK: k, minRelevance } = this.policies.policyOf(event.tenantId).context;
    // Within k nothing is ranked (a ranking is a paid call), so nothing has a score to hold against the floor.
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
    // The first score the model gave a document counts; documents it left out score 0, in their original order.
    const byIndex = new Map<number, { score: number; reason: string }>();
    for (const e of ranked) if (!byIndex.has(e.index)) byIndex.set(e.index, e);
    const scored = spec.context.map((_, index) => ({
      index,
      score: byIndex.get(index)?.score ?? 0,
      reason: byIndex.get(index)?.reason ?? 'not ranked by the model',
    }));
    const relevant = (e: { score: number }) => e.score >= minRelevance;
    // Highest score first; on a tie, the model's own order, then the client's.
    const position = new Map([...byIndex.keys()].map((index, i) => [index, i]));
    const order = scored
      .filter(relevant)
      .sort(
        (a, b) =>
          b.score - a.score ||
          (position.get(a.index) ?? Infinity) - (position.get(b.index) ?? Infinity) ||
          a.index - b.index,
      );
    const kept = new Set(order.slice(0, k).map((e) => e.index));
    const selection: ContextSelectionEntry[] = spec.context.map((doc, index) => {
      const { score, reason } = scored[index]!;
      return {
        index,
        id: doc.id ?? null,
        title: doc.title ?? null,
        score,
        reason: relevant({ score })
          ? reason.slice(0, MAX_REASON_CHARS)
          : `${reason.slice(0, MAX_REASON_CHARS - 80)}; score ${score} is below the relevance floor ${minRelevance}`,
        kept: kept.has(index),
      };
    });
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
