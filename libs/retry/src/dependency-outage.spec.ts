import { dependencyOutage, retryWhileUnavailable } from './dependency-outage';

// Errors as the drivers raise them: node-postgres (bare, or inside TypeORM's QueryFailedError) and kafkajs.
const pgError = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});
const typeorm = (driverError: Error) =>
  Object.assign(new Error(driverError.message), { name: 'QueryFailedError', driverError });
const kafkaError = (name: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(name), { name, ...extra });

describe('dependencyOutage', () => {
  it.each([
    ['a refused connection', pgError('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['a reset connection', pgError('read ECONNRESET', 'ECONNRESET')],
    ['a connection lost mid-query', pgError('Connection terminated unexpectedly')],
    [
      'an admin shutdown (57P01)',
      typeorm(pgError('terminating connection due to administrator command', '57P01')),
    ],
    ['a database starting up (57P03)', pgError('the database system is starting up', '57P03')],
    ['a connection exception (08006)', typeorm(pgError('connection failure', '08006'))],
    ['a pool that had no connection in time', pgError('timeout exceeded when trying to connect')],
    ['a broken pooled client', pgError('Client has encountered a connection error and is not queryable')],
  ])('names Postgres for %s', (_, error) => {
    expect(dependencyOutage(error)).toMatchObject({ dependency: 'postgres' });
  });

  it.each([
    ['an unreachable broker', kafkaError('KafkaJSConnectionError')],
    ['a request that timed out', kafkaError('KafkaJSRequestTimeoutError')],
    [
      'retries exhausted on a connection error',
      kafkaError('KafkaJSNumberOfRetriesExceeded', { originalError: kafkaError('KafkaJSConnectionError') }),
    ],
    [
      'a closed connection its retrier gave up on',
      kafkaError('KafkaJSNonRetriableError', { cause: kafkaError('KafkaJSConnectionClosedError') }),
    ],
    ['a partition without a leader yet', kafkaError('KafkaJSProtocolError', { retriable: true })],
  ])('names Kafka for %s', (_, error) => {
    expect(dependencyOutage(error)).toMatchObject({ dependency: 'kafka' });
  });

  it.each([
    ['a unique violation', typeorm(pgError('duplicate key value', '23505'))],
    ['a syntax error', typeorm(pgError('syntax error at or near', '42601'))],
    ['a deadlock that outlived its retries', pgError('deadlock detected', '40P01')],
    ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['an authorization failure on a topic', kafkaError('KafkaJSProtocolError', { retriable: false })],
    [
      'retries exhausted on a message too large',
      kafkaError('KafkaJSNumberOfRetriesExceeded', {
        originalError: kafkaError('KafkaJSProtocolError', { retriable: false }),
      }),
    ],
    ['a non-retriable error of its own', kafkaError('KafkaJSNonRetriableError')],
    ['a thrown string', 'boom'],
    ['null', null],
  ])('leaves %s to the usual handling', (_, error) => {
    expect(dependencyOutage(error)).toBeNull();
  });
});

describe('retryWhileUnavailable', () => {
  const refused = () =>
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

  it('tries again while the database is unreachable, telling each wait, and returns what the work returns', async () => {
    let runs = 0;
    const waits: string[] = [];
    const result = await retryWhileUnavailable(
      () => {
        runs += 1;
        return runs < 3 ? Promise.reject(refused()) : Promise.resolve('booked');
      },
      { giveUpAtMs: Date.now() + 60_000, onWait: (outage) => waits.push(outage.dependency) },
    );
    expect(result).toBe('booked');
    expect(runs).toBe(3);
    expect(waits).toEqual(['postgres', 'postgres']);
  });

  it('throws any other error at once', async () => {
    let runs = 0;
    const bug = new TypeError('not a function');
    await expect(
      retryWhileUnavailable(
        () => {
          runs += 1;
          return Promise.reject(bug);
        },
        { giveUpAtMs: Date.now() + 60_000 },
      ),
    ).rejects.toBe(bug);
    expect(runs).toBe(1);
  });

  it('throws the outage once the next wait would pass the time it may take', async () => {
    let runs = 0;
    await expect(
      retryWhileUnavailable(
        () => {
          runs += 1;
          return Promise.reject(refused());
        },
        { giveUpAtMs: Date.now() + 50 },
      ),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(runs).toBe(1);
  });

  it('stops waiting when its signal aborts, with the last error', async () => {
    const controller = new AbortController();
    let runs = 0;
    const waiting = retryWhileUnavailable(
      () => {
        runs += 1;
        return Promise.reject(refused());
      },
      { giveUpAtMs: Date.now() + 60_000, signal: controller.signal, onWait: () => controller.abort() },
    );
    await expect(waiting).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(runs).toBe(1);
  });
});
