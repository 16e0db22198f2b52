import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT_CATALOGUE } from '../events/catalogue';
import { buildAsyncApiDocument } from './asyncapi-document';

describe('AsyncAPI document', () => {
  const document = buildAsyncApiDocument();

  it('describes every catalogue topic and its dead-letter topic', () => {
    const addresses = Object.values(document['channels'] as Record<string, { address: string }>).map(
      (c) => c.address,
    );
    for (const event of EVENT_CATALOGUE) {
      expect(addresses).toContain(event.topic);
      expect(addresses).toContain(`${event.topic}.dlq`);
    }
  });

  it('names every topic <domain>.<entity>.<event>.v<N>', () => {
    for (const event of EVENT_CATALOGUE) expect(event.topic).toMatch(/^[a-z]+\.[a-z-]+\.[a-z-]+\.v\d+$/);
  });

  it('documents the signature headers an upstream submission must carry, on that topic only', () => {
    const messages = (document['components'] as { messages: Record<string, { headers: unknown }> }).messages;
    expect(messages['tasksTaskSubmittedV1']!.headers).toMatchObject({
      allOf: [
        { $ref: '#/components/schemas/CloudEventHeaders' },
        { required: ['deliberate-timestamp', 'deliberate-signature'] },
      ],
    });
    expect(messages['tasksTaskCompletedV1']!.headers).toEqual({
      $ref: '#/components/schemas/CloudEventHeaders',
    });
  });

  it('matches the checked-in docs/asyncapi.json (run npm run docs:generate after changing a contract)', () => {
    const checkedIn = JSON.parse(readFileSync(join(__dirname, '../../../../docs/asyncapi.json'), 'utf8'));
    expect(checkedIn).toEqual(JSON.parse(JSON.stringify(document)));
  });
});
