import { CE_HEADERS, type EventDefinition } from '@deliberate/contracts';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';

// Raw Kafka messages an attacker or a broken producer could write on a consumed topic, for property-based tests.
// Every one is invalid by construction (none can be mistaken for a valid event), so each must be dead-lettered.

/** A topic to attack, from a valid payload of its event. */
export interface HostileTarget {
  event: EventDefinition;
  /** A valid payload, which every mutation starts from. */
  data: Record<string, unknown>;
  /** Path of a free-text field of the payload. */
  textPath: readonly string[];
  /** Path of a required string field that must not be a number, a boolean, an array or an object. */
  stringPath: readonly string[];
}

export interface HostileMessage {
  kind: string;
  value: Buffer | string | null;
  headers: Record<string, string | Buffer>;
}

export interface HostileOptions {
  tenantId: string;
  taskId: string;
  /** CloudEvents types that do not belong on the target's topic. */
  foreignTypes: readonly [string, ...string[]];
  /** Extra headers for a value, e.g. a valid signature, so the message reaches the decoder's later stages. */
  sign?: (value: Buffer | string) => Record<string, string>;
}

const REQUIRED_CE_HEADERS = [
  CE_HEADERS.specversion,
  CE_HEADERS.id,
  CE_HEADERS.type,
  CE_HEADERS.source,
  CE_HEADERS.tenantId,
  CE_HEADERS.taskId,
] as const;

const unsafeChar = fc.constantFrom('\u0000', '\uD800', '\uDBFF', '\uDC00', '\uDFFF');
const wrongType = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
);

function withValue(path: readonly string[], data: Record<string, unknown>, value: unknown): string {
  const copy = structuredClone(data);
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  node[path[path.length - 1]!] = value;
  return JSON.stringify(copy);
}

export function hostileKafkaMessages(
  target: HostileTarget,
  options: HostileOptions,
): fc.Arbitrary<HostileMessage> {
  const ceHeaders = (): Record<string, string> => ({
    [CE_HEADERS.specversion]: '1.0',
    [CE_HEADERS.id]: randomUUID(),
    [CE_HEADERS.type]: target.event.topic,
    [CE_HEADERS.source]: 'urn:test:hostile',
    [CE_HEADERS.tenantId]: options.tenantId,
    [CE_HEADERS.taskId]: options.taskId,
    [CE_HEADERS.contentType]: 'application/json',
  });
  const message = (kind: string, value: Buffer | string | null, headers = ceHeaders()): HostileMessage => ({
    kind,
    value,
    headers: { ...headers, ...(value !== null && options.sign ? options.sign(value) : {}) },
  });
  const valid = JSON.stringify(target.data);
  return fc.oneof(
    fc.uint8Array({ maxLength: 2_000 }).map((bytes) => message('random bytes', Buffer.from(bytes))),
    fc.constant(null).map(() => message('no value', null)),
    wrongType.map((v) => message('wrong type', withValue(target.stringPath, target.data, v))),
    fc
      .tuple(fc.string({ maxLength: 20 }), unsafeChar, fc.string({ maxLength: 20 }))
      .map(([a, c, b]) =>
        message(
          'NUL or lone surrogate in the payload',
          withValue(target.textPath, target.data, `${a}${c}${b}`),
        ),
      ),
    // Headers are bytes: a NUL, or bytes that are not UTF-8 (a lone surrogate cannot be sent as UTF-8).
    fc
      .tuple(
        fc.constantFrom(CE_HEADERS.source, CE_HEADERS.id, CE_HEADERS.contentType, CE_HEADERS.traceparent),
        fc.constantFrom<string | Buffer>(
          'up\u0000stream',
          Buffer.from([0x75, 0xed, 0xa0, 0x80]),
          Buffer.from([0xff]),
        ),
      )
      .map(([name, bad]) => {
        const m = message(`unsafe bytes in header ${name}`, valid);
        return { ...m, headers: { ...m.headers, [name]: bad } };
      }),
    // Up to just under the broker's default limit of 1,048,588 bytes, where the dead-letter headers no longer fit.
    fc
      .integer({ min: 100_000, max: 1_040_000 })
      .map((n) => message('huge unterminated value', `{"${target.stringPath.join('.')}":"${'y'.repeat(n)}`)),
    fc
      .integer({ min: 201, max: 50_000 })
      .map((n) => message('huge header', valid, { ...ceHeaders(), [CE_HEADERS.id]: 'i'.repeat(n) })),
    fc.subarray([...REQUIRED_CE_HEADERS], { minLength: 1 }).map((missing) => {
      const headers = ceHeaders();
      for (const name of missing) delete headers[name];
      return message(`missing ${missing.join(', ')}`, valid, headers);
    }),
    fc.constantFrom('application/cloudevents+json', 'text/plain', 'application/xml').map((contentType) => {
      const headers = ceHeaders();
      delete headers[CE_HEADERS.specversion];
      return message(`content type ${contentType}`, valid, {
        ...headers,
        [CE_HEADERS.contentType]: contentType,
      });
    }),
    fc
      .constantFrom(...options.foreignTypes)
      .map((type) => message(`type ${type}`, valid, { ...ceHeaders(), [CE_HEADERS.type]: type })),
  );
}
