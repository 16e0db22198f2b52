import { responseSnippet } from './response-snippet';

describe('responseSnippet', () => {
  it('keeps a short, ordinary body as it is', () => {
    expect(responseSnippet(Buffer.from('{"ok":true} 😀'), 100)).toBe('{"ok":true} 😀');
  });

  it('replaces NUL and undecodable bytes, which Postgres text and jsonb refuse', () => {
    const body = Buffer.concat([Buffer.from('bad\u0000body '), Buffer.from([0xc3, 0x28])]);
    expect(responseSnippet(body, 100)).toBe('bad\uFFFDbody \uFFFD(');
  });

  it('never cuts a character in two at the length limit', () => {
    const snippet = responseSnippet(Buffer.from(`${'a'.repeat(9)}😀tail`), 10);
    expect(snippet).toBe('a'.repeat(9));
    expect(responseSnippet(Buffer.from(`${'a'.repeat(8)}😀tail`), 10)).toBe(`${'a'.repeat(8)}😀`);
  });
});
