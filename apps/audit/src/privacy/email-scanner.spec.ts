import { findEmails } from './email-scanner';

// The pattern the scanner replaces: same matches, but it backtracks quadratically on long runs.
const BACKTRACKING_EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;

const spansOf = (text: string) => findEmails(text).map(([s, e]) => text.slice(s, e));

// A small deterministic generator (mulberry32), so a failure names a reproducible input.
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('findEmails', () => {
  it('finds addresses with the local and domain characters the redaction has always accepted', () => {
    expect(spansOf('mail jane.doe+tag@mail.example.co.uk, or x_y%z@host-1.io.')).toEqual([
      'jane.doe+tag@mail.example.co.uk',
      'x_y%z@host-1.io',
    ]);
  });

  it('needs a domain character before the last dot and two letters after it', () => {
    expect(spansOf('a@.com a@b.c a@b.c1 a@b.cd1 @b.com a@b..cd')).toEqual(['a@b.cd', 'a@b..cd']);
  });

  it('ends the domain at the last dot followed by two letters', () => {
    expect(spansOf('a@b.com.x')).toEqual(['a@b.com']);
    expect(spansOf('a@b.com-x.org-1')).toEqual(['a@b.com-x.org']);
  });

  it('starts the next address after the previous one, as a global regex would', () => {
    expect(spansOf('a@b.com.x@y.org')).toEqual(['a@b.com', '.x@y.org']);
    expect(spansOf('a@b@c.com')).toEqual(['b@c.com']);
  });

  it('takes a whole run of local characters, however long, as the local part', () => {
    const local = 'a'.repeat(200_000);
    expect(findEmails(`${local}@example.com`)).toEqual([[0, 200_012]]);
  });

  it('finds nothing in long runs of one character class, or of alternating classes', () => {
    for (const unit of ['a', '7', '@', ' ', '.', '-', 'a.', 'a@', '@a', 'a@a.', '1 ', 'a-'])
      expect({ unit, found: findEmails(unit.repeat(100_000)) }).toEqual({ unit, found: [] });
  });

  it('finds one address in each repetition of an address', () => {
    expect(findEmails('x@y.io '.repeat(50_000))).toHaveLength(50_000);
    // Touching addresses: the top-level label takes the letters that follow, as the pattern's greedy {2,} did.
    expect(spansOf('a@b.cd'.repeat(3))).toEqual(['a@b.cda', 'b.cda@b.cd']);
  });

  it('matches exactly what the backtracking pattern matched, on random text', () => {
    const alphabet = 'aZ9._%+-@ .@cd,';
    const next = random(20261201);
    for (let i = 0; i < 20_000; i += 1) {
      const length = Math.floor(next() * 24);
      let text = '';
      for (let j = 0; j < length; j += 1) text += alphabet[Math.floor(next() * alphabet.length)];
      const expected = [...text.matchAll(BACKTRACKING_EMAIL)].map((m) => [m.index, m.index + m[0].length]);
      if (JSON.stringify(findEmails(text)) !== JSON.stringify(expected))
        expect({ text, spans: findEmails(text) }).toEqual({ text, spans: expected });
    }
  });
});
