import { LEDGER_PATTERNS, ledgerReplyTopic } from '../ledger/ledger-commands';
import { EVENT_CATALOGUE } from './catalogue';
import type { EventDefinition } from './event-definition';

// docs/architecture.md's topic table, written from the catalogue between two marker comments by
// `npm run docs:generate`; a unit test fails when the checked-in table is stale.

export const TOPIC_TABLE_START = '<!-- topic-table:start -->';
export const TOPIC_TABLE_END = '<!-- topic-table:end -->';

const KEY_NAMES: Record<EventDefinition['key'], string> = { taskId: 'task id', tenantId: 'tenant id' };

// A table cell holds one line, and a pipe would end it.
const cell = (text: string) => text.replace(/\s+/g, ' ').replace(/\|/g, '\\|').trim();
const row = (cells: readonly string[]) => `| ${cells.map(cell).join(' | ')} |`;

/** The table (Markdown, in the compact form Prettier keeps for wide tables) and a line on the ledger's commands. */
export function renderTopicTable(catalogue: readonly EventDefinition[] = EVENT_CATALOGUE): string {
  const header = ['Topic', 'Key', 'Producers', 'Consumers', 'Meaning'];
  const rows = catalogue.map((event) =>
    row([
      `\`${event.topic}\``,
      event.compacted ? `${KEY_NAMES[event.key]} (compacted)` : KEY_NAMES[event.key],
      event.producers.join(', '),
      event.consumers.join(', '),
      event.summary,
    ]),
  );
  const commands = Object.values(LEDGER_PATTERNS)
    .map((pattern) => `\`${pattern}\``)
    .join(', ');
  return [
    row(header),
    row(header.map(() => '---')),
    ...rows,
    '',
    `Not in the catalogue: the ledger's request-reply commands ${commands}, each answered on its ` +
      `\`${ledgerReplyTopic('<command>')}\` topic (NestJS message patterns over Kafka; the ledger consumes the ` +
      `commands, its clients the replies).`,
  ].join('\n');
}

/** `markdown` with the text between the topic-table markers replaced by the generated table. */
export function withTopicTable(markdown: string, table: string = renderTopicTable()): string {
  const start = markdown.indexOf(TOPIC_TABLE_START);
  const end = markdown.indexOf(TOPIC_TABLE_END);
  if (start < 0 || end < start)
    throw new Error(`expected ${TOPIC_TABLE_START} followed by ${TOPIC_TABLE_END} in the document`);
  return `${markdown.slice(0, start + TOPIC_TABLE_START.length)}\n\n${table}\n\n${markdown.slice(end)}`;
}
