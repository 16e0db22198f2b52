// Kafka for a benchmark: the shared local broker of deploy/local/kafka.sh (reused when it answers, started only when
// no broker process exists, and stopped at the end only if started here), or a throwaway private broker; and the
// removal of the run's topics and consumer groups.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import { requireFromRoot } from './built.ts';
import { type BenchRun, freePort, HOST, log, root, tail } from './run.ts';
import { errorMessage } from './stats.ts';

const { Kafka, logLevel } = kafkajs;

export const LOCAL_BROKER = `${HOST}:9092`;
const kafkaScript = join(root, 'deploy/local/kafka.sh');
const kafkaState = join(root, '.local/kafka');

export const quietAdmin = (broker: string, clientId = 'bench-admin'): kafkajs.Admin =>
  new Kafka({ clientId, brokers: [broker], logLevel: logLevel.NOTHING, retry: { retries: 2 } }).admin();

export function kafkaStatus(): boolean {
  try {
    execFileSync(kafkaScript, ['status'], { stdio: 'ignore', timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid of deploy/local/kafka.sh's broker, if it runs. */
export function localKafkaPid(): number | null {
  try {
    const pid = Number(readFileSync(join(kafkaState, 'kafka.pid'), 'utf8').trim());
    return pid && pidAlive(pid) ? pid : null;
  } catch {
    return null;
  }
}

async function brokerAnswers(broker: string): Promise<boolean> {
  const admin = new Kafka({
    clientId: 'bench-probe',
    brokers: [broker],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** The last ERROR lines of a broker's server.log, to say why it is not answering. */
function brokerErrors(logsDir: string): string {
  try {
    const lines = readFileSync(join(logsDir, 'server.log'), 'utf8').trimEnd().split('\n');
    const errors = lines.filter((l) => / ERROR /.test(l)).slice(-3);
    const causes = lines.filter((l) => /Exception: /.test(l)).slice(-1);
    return [...errors, ...causes].map((l) => `    ${l.slice(0, 300)}`).join('\n');
  } catch {
    return '    (no server.log)';
  }
}

/**
 * Uses deploy/local/kafka.sh's broker on 127.0.0.1:9092 as it is when it answers (it may serve other runs and
 * checkouts: never stopped then); waits for a broker process that is starting; starts one only when none exists,
 * and then stops it at the end of the run.
 */
export async function useLocalKafka(run: BenchRun): Promise<string> {
  // A broker answering on 127.0.0.1:9092 without kafka.sh's pid file belongs to another checkout: used as it is.
  if (kafkaStatus() || (await brokerAnswers(LOCAL_BROKER))) {
    log(`Kafka answers on ${LOCAL_BROKER} (left running at the end)`);
    return LOCAL_BROKER;
  }
  const existing = localKafkaPid();
  if (existing) {
    log(`Kafka process ${existing} exists but does not answer yet; waiting up to 120 s`);
    for (let i = 0; i < 120 && pidAlive(existing); i++) {
      if (kafkaStatus()) {
        log(`Kafka answers on ${LOCAL_BROKER} (not started here; left running at the end)`);
        return LOCAL_BROKER;
      }
      run.checkAborted();
      await sleep(1000);
    }
    throw new Error(
      `the local Kafka broker (pid ${existing}) does not answer on ${LOCAL_BROKER}; last errors in ${kafkaState}/logs/server.log:\n${brokerErrors(join(kafkaState, 'logs'))}`,
    );
  }
  log('Kafka is not running: starting it with deploy/local/kafka.sh start (stopped again at the end)');
  run.atTheEnd(() => {
    if (localKafkaPid() === null) return;
    log('stopping the Kafka broker started by this run');
    execFileSync(kafkaScript, ['stop'], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 60_000 });
  });
  try {
    execFileSync(kafkaScript, ['start'], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 180_000 });
  } catch (e) {
    // A broker with many partitions on disk takes longer than kafka.sh waits: give it two more minutes.
    log(`kafka.sh start: ${errorMessage(e).split('\n')[0]}; waiting up to 120 s more for the broker`);
    const until = Date.now() + 120_000;
    while (!kafkaStatus()) {
      if (Date.now() > until)
        throw new Error(
          `the Kafka broker did not come up; last errors in ${kafkaState}/logs/server.log:\n${brokerErrors(join(kafkaState, 'logs'))}`,
        );
      run.checkAborted();
      await sleep(5000);
    }
  }
  return LOCAL_BROKER;
}

export interface PrivateKafkaOptions {
  /** The broker's directory (data and logs), removed at the end. */
  dir: string;
  logName: string;
  /** server.properties lines added to deploy/local/kafka.sh's settings. */
  extraProperties?: readonly string[];
}

/** A fresh single-node KRaft broker for this run only: the jars and settings of deploy/local/kafka.sh, free ports. */
export async function startPrivateKafka(
  run: BenchRun,
  { dir, logName, extraProperties = [] }: PrivateKafkaOptions,
): Promise<string> {
  const libs = join(kafkaState, 'libs');
  if (!existsSync(join(libs, '.complete'))) {
    log('fetching the broker jars with deploy/local/kafka.sh fetch');
    execFileSync(kafkaScript, ['fetch'], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 });
  }
  run.atTheEnd(() => {
    rmSync(dir, { recursive: true, force: true });
    log(`removed the private broker's data (${dir})`);
  });
  const [port, controllerPort] = [await freePort(), await freePort()];
  const logs = join(dir, 'logs');
  mkdirSync(join(dir, 'data'), { recursive: true });
  mkdirSync(logs, { recursive: true });
  const config = join(dir, 'server.properties');
  writeFileSync(
    config,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@${HOST}:${controllerPort}`,
      `listeners=PLAINTEXT://${HOST}:${port},CONTROLLER://${HOST}:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://${HOST}:${port}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      `log.dirs=${join(dir, 'data')}`,
      'num.partitions=3',
      'default.replication.factor=1',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=12',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'min.insync.replicas=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=false',
      'delete.topic.enable=true',
      ...extraProperties,
      '',
    ].join('\n'),
  );
  const jvm = [
    '-cp',
    `${libs}/*`,
    `-Dlog4j2.configurationFile=${join(root, 'deploy/local/kafka/log4j2.properties')}`,
    `-Dkafka.logs.dir=${logs}`,
  ];
  const clusterId = randomBytes(16).toString('base64url');
  execFileSync(
    'java',
    [
      ...jvm,
      'kafka.tools.StorageTool',
      'format',
      '--config',
      config,
      '--cluster-id',
      clusterId,
      '--ignore-formatted',
    ],
    {
      stdio: 'ignore',
      timeout: 120_000,
    },
  );
  const heap = (process.env.KAFKA_HEAP ?? '-Xms256m -Xmx768m').split(/\s+/).filter(Boolean);
  const child = run.spawn(
    'kafka',
    'java',
    [
      ...heap,
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-Djava.awt.headless=true',
      ...jvm,
      'kafka.Kafka',
      config,
    ],
    { logName, broker: true },
  );
  const broker = `${HOST}:${port}`;
  for (let i = 0; ; i++) {
    run.checkAborted();
    if (child.proc.exitCode !== null)
      throw new Error(`the private broker exited:\n${brokerErrors(logs)}\n${tail(child.logFile, 5)}`);
    const admin = quietAdmin(broker, 'bench-probe');
    try {
      await admin.connect();
      await admin.listTopics();
      await admin.disconnect();
      break;
    } catch {
      await admin.disconnect().catch(() => {});
      if (i >= 120) throw new Error(`the private broker did not answer within 120 s:\n${brokerErrors(logs)}`);
      await sleep(1000);
    }
  }
  log(`private Kafka broker up (pid ${child.proc.pid}, ${broker}, data in ${dir})`);
  return broker;
}

/** The Kafka version of the local broker's jars (3.9.1 when they are elsewhere). */
export function kafkaJarVersion(): string {
  try {
    const jar = readdirSync(join(kafkaState, 'libs')).find((f) =>
      /^kafka-server-common-[\d.]+\.jar$/.test(f),
    );
    const v = jar ? /(\d+\.\d+\.\d+)/.exec(jar)?.[1] : undefined;
    if (v) return v;
  } catch {
    // jars elsewhere
  }
  return '3.9.1';
}

/** Removes at cleanup the topics and consumer groups whose names start with one of the prefixes. */
export function removeTopicsAtCleanup(
  run: BenchRun,
  broker: () => string,
  prefixes: readonly string[],
): void {
  run.afterServicesStop(async () => {
    if (!prefixes.length) return;
    const admin = quietAdmin(broker(), 'bench-cleanup');
    await admin.connect();
    try {
      const mine = (name: string) => prefixes.some((p) => name.startsWith(p));
      const topics = (await admin.listTopics()).filter(mine);
      const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter(mine);
      if (groups.length) await admin.deleteGroups(groups).catch(() => {});
      if (topics.length) await admin.deleteTopics({ topics, timeout: 30_000 });
      log(
        `deleted ${topics.length} topics and ${groups.length} consumer groups under ${prefixes.map((p) => `'${p}'`).join(', ')}`,
      );
    } finally {
      await admin.disconnect();
    }
  });
}

/** The task id a CloudEvents Kafka message carries in its ce_taskid header. */
export const taskIdOf = (m: kafkajs.KafkaMessage): string | undefined => {
  const raw = m.headers?.ce_taskid;
  return (Array.isArray(raw) ? raw[0] : raw)?.toString();
};

type KafkaLib = typeof import('@deliberate/kafka');
type EventDefinition = Parameters<KafkaLib['provisionTopics']>[1][number];

/**
 * Creates the events' topics (and their dead-letter topics) under `prefix` as the services do, then waits until
 * every partition answers ListOffsets: consumers on a topic created a moment before hit NOT_LEADER and rejoin their
 * group once per error. Returns the topic names.
 */
export async function createTopicsReady(
  broker: string,
  prefix: string,
  definitions: readonly EventDefinition[],
): Promise<string[]> {
  const kafkaLib = requireFromRoot<KafkaLib>('@deliberate/kafka');
  const client = new kafkaLib.KafkaClient({
    serviceName: 'bench',
    brokers: [broker],
    topicPrefix: prefix,
    createTopics: true,
    replicationFactor: 1,
    handlerMaxAttempts: 1,
  });
  await kafkaLib.provisionTopics(client, definitions);
  const names = definitions.flatMap((d) => [`${prefix}${d.topic}`, `${prefix}${d.topic}.dlq`]);
  const admin = quietAdmin(broker, 'bench-topics');
  await admin.connect();
  try {
    const t0 = Date.now();
    for (const name of names) {
      for (;;) {
        try {
          await admin.fetchTopicOffsets(name);
          break;
        } catch (e) {
          if (Date.now() - t0 > 60_000) throw new Error(`${name} has no ready leaders: ${errorMessage(e)}`);
          await sleep(200);
        }
      }
    }
  } finally {
    await admin.disconnect();
  }
  return names;
}
