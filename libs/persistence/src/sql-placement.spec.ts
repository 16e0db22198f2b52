import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

// SQL lives in *.repository.ts files, migrations and this library: a statement or a `.query(` call anywhere else in a
// service or library fails here, naming the file and what was found.

const ROOT = join(__dirname, '..', '..', '..');

// Statements as they are written in string literals; comments are removed before the scan.
const SQL = [
  /\bSELECT\s+(?:[\w*"(]+|\$\d)/,
  /\bINSERT\s+INTO\b/,
  /\bUPDATE\s+[\w."]+(?:\s+(?:AS\s+)?\w+)?\s+SET\b/,
  /\bDELETE\s+FROM\b/,
  /\b(?:CREATE|ALTER|DROP)\s+(?:TABLE|INDEX|SCHEMA|DATABASE|ROLE|FUNCTION|TRIGGER)\b/,
  /\b(?:GRANT|REVOKE)\s+(?:ALL|SELECT|INSERT|UPDATE|DELETE|USAGE|EXECUTE)\b/,
  /\.query\s*(?:<|\()/,
];

const isAllowed = (path: string) =>
  path.endsWith('.repository.ts') ||
  path.includes('/migrations/') ||
  path.startsWith('libs/persistence/') ||
  // Test support creates and drops whole databases for suites.
  path.startsWith('libs/testing/') ||
  path.endsWith('.spec.ts');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory())
      return entry.name === 'node_modules' || entry.name === 'dist' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function projectSources(): string[] {
  return ['apps', 'libs'].flatMap((group) =>
    readdirSync(join(ROOT, group), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .flatMap((d) => {
        try {
          return sourceFiles(join(ROOT, group, d.name, 'src'));
        } catch {
          return []; // a project without src
        }
      }),
  );
}

/** What the file contains that looks like SQL, with comments left out; [] for none. */
export function sqlIn(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/[^\n]*/g, '$1');
  return SQL.flatMap((pattern) => {
    const match = pattern.exec(code);
    return match ? [match[0]] : [];
  });
}

describe('sqlIn', () => {
  it('finds statements and query calls, not words in comments', () => {
    expect(sqlIn('await sql.query(`SELECT id FROM tasks`)')).toEqual(['SELECT id', '.query(']);
    expect(sqlIn("db.execute('UPDATE tasks t SET status = $1')")).toEqual(['UPDATE tasks t SET']);
    expect(sqlIn('`DELETE FROM review_claims WHERE task_id = $1`')).toEqual(['DELETE FROM']);
    expect(sqlIn('// the writer may only INSERT and SELECT records\nconst x = 1;')).toEqual([]);
    expect(sqlIn('/* UPDATE executions SET owner */ const y = 2;')).toEqual([]);
    expect(sqlIn("const url = 'http://example.com'; // SELECT 1")).toEqual([]);
  });
});

describe('SQL placement', () => {
  it('keeps SQL in repositories, migrations and libs/persistence', () => {
    const misplaced = projectSources()
      .map((file) => relative(ROOT, file).split(sep).join('/'))
      .filter((path) => !isAllowed(path))
      .map((path) => ({ path, found: sqlIn(readFileSync(join(ROOT, path), 'utf8')) }))
      .filter((f) => f.found.length > 0)
      .map((f) => `${f.path}: ${f.found.join(', ')}`);
    expect(misplaced).toEqual([]);
  });
});
