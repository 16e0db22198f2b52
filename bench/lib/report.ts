// The report writer: each benchmark owns a part of docs/benchmarks.md (a `## ` heading with its method) and adds a
// dated `### ` section per run. NO_DOCS=1 leaves the file alone.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { flagOn } from './options.ts';
import { log, root } from './run.ts';

export const docsFile = join(root, 'docs/benchmarks.md');
export const writeDocsEnabled = (): boolean => !flagOn('NO_DOCS');

const DOCS_INTRO = `# Benchmarks

Figures measured by the scripts in \`bench/\`, newest run last in each part. Every run measures its own **baseline
in the same run, on the same machine**, and the stack is judged by the difference and the ratio against it, never by
absolute numbers from another machine or another day.
`;

export interface ReportPart {
  /** The part's `## ` heading line. */
  heading: string;
  /** The part's heading and method text, written when the part is missing. */
  intro?: string;
}

/**
 * Adds a run's section as the newest of its part: at the end of the part when the file has it (the part's text is
 * left as it is), otherwise at the end of the file after the part's intro.
 */
export function appendSection(part: ReportPart, section: string): void {
  if (!writeDocsEnabled()) return;
  // Someone else may write too: read it right before writing.
  const current = existsSync(docsFile) ? readFileSync(docsFile, 'utf8') : DOCS_INTRO;
  if (!existsSync(docsFile)) writeFileSync(docsFile, current);
  const start = current.indexOf(`${part.heading}\n`);
  const nextPart = start < 0 ? -1 : current.indexOf('\n## ', start + part.heading.length);
  if (nextPart >= 0) {
    const before = current.slice(0, nextPart + 1).trimEnd();
    writeFileSync(docsFile, `${before}\n\n${section.trimEnd()}\n\n${current.slice(nextPart + 1)}`);
    log(`wrote the results into ${docsFile}`);
    return;
  }
  const intro = start >= 0 || !part.intro ? '' : `${part.intro.trimEnd()}\n\n`;
  const sep = current === '' || current.endsWith('\n\n') ? '' : current.endsWith('\n') ? '\n' : '\n\n';
  appendFileSync(docsFile, `${sep}${intro}${section}\n`);
  log(`appended the results to ${docsFile}`);
}

/**
 * Writes a run's section at the end of its own part (other benchmarks keep theirs): creates the file or the part if
 * missing and refreshes the part's intro.
 */
export function writeSectionInPart(part: Required<ReportPart>, section: string): void {
  if (!writeDocsEnabled()) return;
  let text = existsSync(docsFile) ? readFileSync(docsFile, 'utf8') : DOCS_INTRO;
  let start = text.indexOf(`${part.heading}\n`);
  if (start < 0) {
    text = `${text.trimEnd()}\n\n${part.intro}`;
    start = text.indexOf(`${part.heading}\n`);
  }
  const nextPart = text.indexOf('\n## ', start + part.heading.length);
  const partEnd = nextPart < 0 ? text.length : nextPart + 1;
  let body = text.slice(start, partEnd);
  const firstRun = body.indexOf('\n### ');
  body = part.intro.trimEnd() + (firstRun < 0 ? '\n' : `\n${body.slice(firstRun)}`);
  body = `${body.trimEnd()}\n\n${section}\n`;
  const rest = text.slice(partEnd);
  writeFileSync(docsFile, `${text.slice(0, start)}${body}${rest ? `\n${rest}` : ''}`);
  log(`wrote the results into ${docsFile}`);
}
