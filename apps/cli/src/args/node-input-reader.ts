import { readFileSync, statSync } from 'node:fs';
import type { InputReader } from './input-text';

export const nodeInputReader: InputReader = {
  sizeOf: (path) => {
    const stat = statSync(path);
    if (stat.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    return stat.size;
  },
  readFile: (path) => readFileSync(path),
  readStdin: async (maxBytes) => {
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of process.stdin) {
      chunks.push(chunk as Buffer);
      total += (chunk as Buffer).length;
      if (total > maxBytes) break;
    }
    return Buffer.concat(chunks);
  },
};
