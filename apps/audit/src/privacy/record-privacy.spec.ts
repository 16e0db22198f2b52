import { randomBytes } from 'node:crypto';
import { FieldCipher } from './field-cipher';
import { RecordPrivacy } from './record-privacy';
import { Redactor } from './redactor';

describe('RecordPrivacy', () => {
  const privacy = new RecordPrivacy(new Redactor(true), new FieldCipher(randomBytes(32), ['secret-co']));
  const data = {
    spec: {
      input: 'Email jane@example.com about it',
      context: [{ title: 'memo', content: 'SSN 123-45-6789' }],
    },
    model: 'gpt-5',
    at: '2026-11-26T10:00:00.000Z',
  };

  it('redacts free text only, and returns it for search', () => {
    const { stored, text } = privacy.protect('acme', data);
    expect(stored).toEqual({
      spec: {
        input: 'Email [redacted:email] about it',
        context: [{ title: 'memo', content: 'SSN [redacted:ssn]' }],
      },
      model: 'gpt-5',
      at: '2026-11-26T10:00:00.000Z',
    });
    expect(text).toEqual(['Email [redacted:email] about it', 'memo', 'SSN [redacted:ssn]']);
  });

  it('encrypts the sensitive fields of configured tenants, and reveals them redacted', () => {
    const { stored, text } = privacy.protect('secret-co', data);
    const spec = (stored as { spec: Record<string, unknown> }).spec;
    expect(spec['input']).toMatchObject({ $enc: 'aes-256-gcm' });
    expect(JSON.stringify(stored)).not.toContain('redacted');
    expect(text).toEqual([]);
    expect(privacy.reveal('secret-co', stored)).toEqual(privacy.protect('acme', data).stored);
  });
});
