import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { checkSync } from 'recheck';
import * as ts from 'typescript';
import { z } from 'zod';

// Every regular expression of the services and libraries runs in linear time, proven by the ReDoS checker recheck.
// They are found in the source, not listed by hand, so a new one is checked too: tenant and model text reaches most
// of them (inputs, prompts, traces, headers, webhook hosts), and one that backtracks on some input holds the consumer
// or the request that applies it, and everything queued behind it.

const ROOT = join(__dirname, '../../..');

// Regular expressions built at run time, by file, with where their patterns are vetted.
const BUILT_AT_RUN_TIME: Record<string, string> = {
  'apps/audit/src/config.ts': 'AUDIT_REDACT_PATTERNS: refused at start-up unless recheck proves them linear',
  'apps/audit/src/privacy/redactor.ts': 'the same configured patterns, given the g flag',
};

interface Found {
  where: string;
  literal: string;
}

function sourceFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.ts$/.test(entry.name) && !/\.(spec|d)\.ts$/.test(entry.name)) files.push(path);
    }
  };
  for (const kind of ['apps', 'libs']) {
    for (const project of readdirSync(join(ROOT, kind), { withFileTypes: true })) {
      const src = join(ROOT, kind, project.name, 'src');
      if (project.isDirectory() && readdirSync(join(ROOT, kind, project.name)).includes('src')) walk(src);
    }
  }
  return files;
}

function scan(): { literals: Found[]; builtAtRunTime: Set<string> } {
  const literals: Found[] = [];
  const builtAtRunTime = new Set<string>();
  for (const file of sourceFiles()) {
    const path = relative(ROOT, file);
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node) => {
      if (node.kind === ts.SyntaxKind.RegularExpressionLiteral) {
        const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
        literals.push({ where: `${path}:${line}`, literal: node.getText(source) });
      }
      if (
        (ts.isNewExpression(node) || ts.isCallExpression(node)) &&
        ts.isIdentifier(node.expression) &&
        node.expression.text === 'RegExp'
      )
        builtAtRunTime.add(path);
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return { literals, builtAtRunTime };
}

const { literals, builtAtRunTime } = scan();

function verdict(source: string, flags: string): string {
  const result = checkSync(source, flags, { timeout: 30_000 });
  switch (result.status) {
    case 'safe':
      return 'safe';
    case 'vulnerable':
      return `vulnerable: ${result.complexity.summary}, e.g. on ${result.attack.pattern}`;
    case 'unknown':
      return `unknown: ${result.error.kind}`;
  }
}

describe('regular expressions in the source', () => {
  it('are all found (the scan reads the code)', () => {
    expect(literals.length).toBeGreaterThan(50);
    expect(literals.map((l) => l.where)).toContainEqual(
      expect.stringMatching(/^apps\/audit\/src\/privacy\/redactor\.ts:/),
    );
  });

  it.each(literals.map((l) => [l.where, l.literal] as const))(
    '%s %s runs in linear time',
    (_where, literal) => {
      const [, source, flags] = /^\/(.*)\/([a-z]*)$/s.exec(literal)!;
      expect(verdict(source!, flags!)).toBe('safe');
    },
  );

  it('are built at run time only where their patterns are vetted', () => {
    expect([...builtAtRunTime].sort()).toEqual(Object.keys(BUILT_AT_RUN_TIME).sort());
  });

  // The string formats the contracts check on every event and HTTP body use zod's own patterns.
  it.each([
    ['uuid', z.uuid()],
    ['iso datetime', z.iso.datetime()],
    ['iso date', z.iso.date()],
  ])("zod's %s format runs in linear time", (_name, schema) => {
    const pattern = (schema as unknown as { _zod: { def: { pattern: RegExp } } })._zod.def.pattern;
    expect(verdict(pattern.source, pattern.flags)).toBe('safe');
  });
});
