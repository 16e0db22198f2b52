import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT_CATALOGUE } from './catalogue';
import { renderTopicTable, TOPIC_TABLE_END, TOPIC_TABLE_START, withTopicTable } from './topic-table';

describe('topic table', () => {
  it('has a row per catalogue topic with its producers and consumers', () => {
    const lines = renderTopicTable().split('\n');
    for (const event of EVENT_CATALOGUE) {
      const line = lines.find((l) => l.startsWith(`| \`${event.topic}\` |`));
      expect(line).toContain(`| ${event.producers.join(', ')} | ${event.consumers.join(', ')} |`);
    }
  });

  it('escapes a pipe in a summary, so it cannot break the row', () => {
    const [event] = EVENT_CATALOGUE;
    const table = renderTopicTable([{ ...event, summary: 'a | b' }]);
    expect(table).toContain('| a \\| b |');
  });

  it('replaces only the text between the markers', () => {
    const doc = `before\n${TOPIC_TABLE_START}\nold table\n${TOPIC_TABLE_END}\nafter\n`;
    expect(withTopicTable(doc, 'new table')).toBe(
      `before\n${TOPIC_TABLE_START}\n\nnew table\n\n${TOPIC_TABLE_END}\nafter\n`,
    );
    expect(() => withTopicTable('no markers', 'new table')).toThrow(/topic-table:start/);
  });

  it('matches the table in docs/architecture.md (run npm run docs:generate after changing the catalogue)', () => {
    const architecture = readFileSync(join(__dirname, '../../../../docs/architecture.md'), 'utf8');
    // Prettier may pad the columns: only the text counts.
    const text = (markdown: string) => markdown.replace(/ {2,}/g, ' ').replace(/-{3,}/g, '---');
    expect(text(architecture)).toBe(text(withTopicTable(architecture)));
  });
});
