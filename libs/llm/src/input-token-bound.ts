// A reservation must hold at least what the call can cost, so its input bound must never be below the provider's
// count. Byte-level BPE tokenizers (OpenAI's among them) never make a token of less than one UTF-8 byte, so a
// message's UTF-8 length bounds its tokens from above, for any script: four characters per token, the usual
// estimate, is right for English and several times too low for Chinese, Japanese or Korean text.

/** Role markers and separators that chat formatting adds per message, and the tokens that prime the reply. */
export const MESSAGE_OVERHEAD_TOKENS = 16;
export const REPLY_PRIMING_TOKENS = 3;

export function inputTokenUpperBound(messages: readonly { content: string }[]): number {
  return messages.reduce(
    (sum, m) => sum + Buffer.byteLength(m.content, 'utf8') + MESSAGE_OVERHEAD_TOKENS,
    REPLY_PRIMING_TOKENS,
  );
}
