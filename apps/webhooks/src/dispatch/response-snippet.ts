import { replaceUnsafeText } from '@deliberate/contracts';

// What we keep of a receiver's answer: its first characters, never a character cut in two, with NUL and lone
// surrogates replaced. The snippet is stored in a text column and in an event (jsonb), where either would fail the
// whole batch of attempts recorded with it.
export function responseSnippet(body: Buffer, maxChars: number): string {
  let text = body.toString('utf8').slice(0, maxChars);
  const last = text.charCodeAt(text.length - 1);
  if (text.length === maxChars && last >= 0xd800 && last <= 0xdbff) text = text.slice(0, -1);
  return replaceUnsafeText(text);
}
