// The naive design the reasoner replaces: a plain NestJS Kafka microservice whose @EventPattern handler awaits the
// reasoning model's answer (the openai SDK, straight to the model simulator) before it returns, so the consumer holds
// the partition, and skips its heartbeats, for the whole call. Started by bench/reasoner-inflight.ts; it can also be
// run on its own (Node 24, by type stripping):
//
//   TOPIC_PREFIX=demo. SIM_BASE_URL=http://127.0.0.1:4010/v1 STATS_PORT=4099 node bench/baseline/awaiting-consumer.ts
//
// Environment:
//   KAFKA_BROKERS (127.0.0.1:9092)   TOPIC_PREFIX (required)   SIM_BASE_URL (required, …/v1)
//   MODEL (sim-reasoner)             MAX_COMPLETION_TOKENS (8000)
//   SESSION_TIMEOUT_MS (30000)       HEARTBEAT_INTERVAL_MS (3000)
//   PARTITIONS_CONCURRENTLY (12)     kafkajs partitionsConsumedConcurrently: at most this many calls at once (Nest's
//                                    default is 1; 12 = one per partition of reasoning.task.requested.v1)
//   STATS_PORT (0 = none)            GET http://127.0.0.1:<port>/stats: counters as JSON (see `stats` below)
//
// The only additions to the plain design are counters: calls in flight, answers, calls for a task already called
// before (redeliveries), and the consumer's group joins (a kafkajs GROUP_JOIN listener on Nest's own consumer).
// A failed model call is counted and the handler returns normally (no rethrow, so kafkajs does not restart).

import 'reflect-metadata';
import { createServer } from 'node:http';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, type KafkaContext, Payload, ServerKafka } from '@nestjs/microservices';
import kafkajs from 'kafkajs';
import OpenAI from 'openai';

const env = (name: string, fallback?: string): string => {
  const v = process.env[name];
  if (v === undefined || v === '') {
    if (fallback === undefined) throw new Error(`${name} is required`);
    return fallback;
  }
  return v;
};

const PREFIX = env('TOPIC_PREFIX');
const TOPIC = `${PREFIX}reasoning.task.requested.v1`;
const BROKERS = env('KAFKA_BROKERS', '127.0.0.1:9092').split(',');
const MODEL = env('MODEL', 'sim-reasoner');
const MAX_COMPLETION_TOKENS = Number(env('MAX_COMPLETION_TOKENS', '8000'));
const SESSION_TIMEOUT_MS = Number(env('SESSION_TIMEOUT_MS', '30000'));
const HEARTBEAT_INTERVAL_MS = Number(env('HEARTBEAT_INTERVAL_MS', '3000'));
const PARTITIONS_CONCURRENTLY = Number(env('PARTITIONS_CONCURRENTLY', '12'));
const STATS_PORT = Number(env('STATS_PORT', '0'));

// kafkajs 2.2.4 schedules a timer with a negative delay on every connection (harmless on Node 24).
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name !== 'TimeoutNegativeWarning') console.warn(`(warning) ${w.name}: ${w.message}`);
});

const stats = {
  inFlight: 0,
  peakInFlight: 0,
  calls: 0, // handler invocations = model calls started
  answered: 0, // model calls that returned
  failed: 0, // model calls that threw
  uniqueAnswered: 0, // distinct tasks with at least one answer
  duplicateCalls: 0, // calls for a task that had been called before (a redelivery)
  groupJoins: 0,
  rebalancing: 0, // kafkajs REBALANCING events (the broker said a rebalance is in progress)
  crashes: 0,
  lastError: null as string | null,
  startedAt: Date.now(),
};
const callsByTask = new Map<string, number>();
const answeredTasks = new Set<string>();

const openai = new OpenAI({
  baseURL: env('SIM_BASE_URL'),
  apiKey: env('SIM_API_KEY', 'sim-key'),
  maxRetries: 0,
  timeout: 600_000,
});

const headerString = (v: unknown): string | undefined => {
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined || first === null
    ? undefined
    : Buffer.isBuffer(first)
      ? first.toString()
      : String(first);
};

// ------------------------------------------------------------------ the controller: the whole "design"

interface ReasoningRequest {
  spec?: { input?: unknown; maxThinkingTokens?: number };
}

class ReasoningRequestsController {
  async onReasoningRequested(data: ReasoningRequest | undefined, context: KafkaContext): Promise<void> {
    const taskId = headerString(context.getMessage().headers?.ce_taskid) ?? 'unknown';
    const n = (callsByTask.get(taskId) ?? 0) + 1;
    callsByTask.set(taskId, n);
    if (n > 1) stats.duplicateCalls++;
    stats.calls++;
    stats.inFlight++;
    stats.peakInFlight = Math.max(stats.peakInFlight, stats.inFlight);
    try {
      const input =
        typeof data?.spec?.input === 'string' ? data.spec.input : JSON.stringify(data?.spec?.input);
      // The naive part: the consumer waits here for the model (60 s of thinking), partition and heartbeat included.
      await openai.chat.completions.create({
        model: MODEL,
        messages: [
          { role: 'system', content: 'Work through the task step by step, then answer.' },
          { role: 'user', content: input },
        ],
        max_completion_tokens: data?.spec?.maxThinkingTokens ?? MAX_COMPLETION_TOKENS,
      });
      stats.answered++;
      if (!answeredTasks.has(taskId)) {
        answeredTasks.add(taskId);
        stats.uniqueAnswered++;
      }
    } catch (e) {
      stats.failed++;
      stats.lastError = (e instanceof Error ? e.message : String(e)).slice(0, 300);
    } finally {
      stats.inFlight--;
    }
  }
}
// Node's type stripping has no decorator syntax: apply Nest's decorators the way compiled TypeScript does
// (@EventPattern(TOPIC) onReasoningRequested(@Payload() data, @Ctx() context)).
{
  const proto = ReasoningRequestsController.prototype;
  const key = 'onReasoningRequested';
  Object.defineProperty(
    proto,
    key,
    Reflect.decorate(
      [
        EventPattern(TOPIC) as MethodDecorator,
        (t: object, k: string | symbol | undefined) => Payload()(t, k, 0),
        (t: object, k: string | symbol | undefined) => Ctx()(t, k, 1),
      ],
      proto,
      key,
      Object.getOwnPropertyDescriptor(proto, key),
    ),
  );
}
Reflect.decorate([Controller()], ReasoningRequestsController);

class BaselineModule {}
Reflect.decorate([Module({ controllers: [ReasoningRequestsController] })], BaselineModule);

// Nest's own Kafka server, with a listener on its consumer's group joins (registered before it first joins).
class CountingServerKafka extends ServerKafka {
  override registerConsumerEventListeners(): void {
    super.registerConsumerEventListeners();
    const c = this.consumer;
    if (!c) return;
    c.on(c.events.GROUP_JOIN, (e) => {
      stats.groupJoins++;
      console.log(
        JSON.stringify({
          at: new Date().toISOString(),
          msg: 'group join',
          joins: stats.groupJoins,
          memberId: e.payload.memberId,
          partitions: Object.values(e.payload.memberAssignment ?? {}).flat().length,
          inFlight: stats.inFlight,
        }),
      );
    });
    c.on(c.events.REBALANCING, () => stats.rebalancing++);
    c.on(c.events.CRASH, (e) => {
      stats.crashes++;
      stats.lastError = e.payload.error.message.slice(0, 300);
    });
  }
}

async function main(): Promise<void> {
  if (STATS_PORT > 0) {
    createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          ...stats,
          distinctTasksCalled: callsByTask.size,
          maxCallsOfOneTask: callsByTask.size ? Math.max(...callsByTask.values()) : 0,
        }),
      );
    }).listen(STATS_PORT, '127.0.0.1');
  }
  const app = await NestFactory.createMicroservice(BaselineModule, {
    logger: ['log', 'warn', 'error'],
    strategy: new CountingServerKafka({
      postfixId: '-server',
      client: {
        clientId: `${PREFIX}baseline`,
        brokers: BROKERS,
        logLevel: kafkajs.logLevel.INFO,
      },
      consumer: {
        groupId: `${PREFIX}baseline`,
        sessionTimeout: SESSION_TIMEOUT_MS,
        heartbeatInterval: HEARTBEAT_INTERVAL_MS,
        allowAutoTopicCreation: false,
      },
      subscribe: { fromBeginning: true },
      run: { partitionsConsumedConcurrently: PARTITIONS_CONCURRENTLY },
    }),
  });
  // The benchmark kills this process at the end of its window; nothing here needs a graceful stop.
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => process.exit(0));
  await app.listen();
  console.log(
    JSON.stringify({
      at: new Date().toISOString(),
      msg: 'baseline consumer listening',
      topic: TOPIC,
      group: `${PREFIX}baseline-server`,
    }),
  );
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
