// One limit decides the largest event, and from it the largest task: Kafka refuses a message above the broker's
// `message.max.bytes`, so a task body is accepted only when its events fit with room for envelope and headers.

/** Kafka's default `message.max.bytes` is 1,048,588; this leaves headroom for record overhead and batch framing. */
export const DEFAULT_KAFKA_MAX_MESSAGE_BYTES = 1_000_000;

/**
 * Bytes an event adds around a task body: CloudEvents and trace headers, dead-letter headers (a reason of up to
 * 4,000 bytes), the normalized spec's extra fields and what triage adds (decision, context selection).
 */
export const TASK_EVENT_HEADROOM_BYTES = 64 * 1024;

/** The largest task body (HTTP or the intake topic's value) whose events still fit in one Kafka message. */
export function maxTaskBodyBytes(kafkaMaxMessageBytes: number): number {
  return Math.max(0, kafkaMaxMessageBytes - TASK_EVENT_HEADROOM_BYTES);
}

/** A text is never cut shorter than this: what is left must still say what the text was about. */
export const CUT_TEXT_MIN_CHARS = 256;

const cutMarker = (originalChars: number) => `\n[cut: ${originalChars} chars in all]`;

interface TextLeaf {
  parent: Record<string, unknown> | unknown[];
  key: string | number;
  original: string;
}

/**
 * Makes `data` fit in `maxBytes` of JSON by cutting the longest texts at `paths` (`prompt[].content`, `answer`),
 * each ending with a visible `[cut: N chars in all]` marker, never below {@link CUT_TEXT_MIN_CHARS}. Returns a copy
 * and how many texts were cut; data that fits comes back as it is. The result may still not fit when the listed
 * texts are not what makes it large: the publisher then refuses it.
 */
export function cutToFit<T>(data: T, paths: readonly string[], maxBytes: number): { data: T; cut: number } {
  let size = jsonBytes(data);
  if (size <= maxBytes) return { data, cut: 0 };
  const copy = structuredClone(data);
  const leaves = paths
    .flatMap((path) => textLeaves(copy, path.split(/\.|(?=\[\])/).filter(Boolean)))
    .sort((a, b) => b.original.length - a.original.length);
  let cut = 0;
  for (const leaf of leaves) {
    if (size <= maxBytes) break;
    const marker = cutMarker(leaf.original.length);
    // Each character removed saves at least one byte of JSON; the marker costs its JSON length (quotes aside).
    const markerBytes = jsonBytes(marker) - 2;
    const keep = Math.max(CUT_TEXT_MIN_CHARS, leaf.original.length - (size - maxBytes) - markerBytes);
    if (keep >= leaf.original.length) continue;
    const before = jsonBytes(leaf.original);
    const text = `${sliceWholeChars(leaf.original, keep)}${marker}`;
    (leaf.parent as Record<string | number, unknown>)[leaf.key] = text;
    size += jsonBytes(text) - before;
    cut += 1;
  }
  return { data: copy, cut };
}

function textLeaves(root: unknown, segments: string[]): TextLeaf[] {
  let level: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [
    { parent: { root }, key: 'root' },
  ];
  for (const segment of segments) {
    const next: typeof level = [];
    for (const { parent, key } of level) {
      const value = (parent as Record<string | number, unknown>)[key];
      if (segment === '[]') {
        if (Array.isArray(value)) value.forEach((_, i) => next.push({ parent: value, key: i }));
      } else if (typeof value === 'object' && value !== null && !Array.isArray(value) && segment in value) {
        next.push({ parent: value as Record<string, unknown>, key: segment });
      }
    }
    level = next;
  }
  return level.flatMap(({ parent, key }) => {
    const value = (parent as Record<string | number, unknown>)[key];
    return typeof value === 'string' ? [{ parent, key, original: value }] : [];
  });
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '');
}

// A cut between the two halves of a surrogate pair would leave a lone surrogate, which no consumer accepts.
function sliceWholeChars(text: string, chars: number): string {
  const last = text.charCodeAt(chars - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? chars - 1 : chars);
}
