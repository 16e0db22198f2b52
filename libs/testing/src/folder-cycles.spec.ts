import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import * as ts from 'typescript';

// The feature folders of each app and library (apps/<name>/src/<folder>) import one another without a cycle, so each
// can be read, tested and changed from the folders below it. Files at the root of src (the module, main.ts) compose
// the folders and are left out. Imports are read from the source, type-only ones included.

const ROOT = join(__dirname, '../../..');

// Cycles that remain, as the folders of each cycle: the list only shrinks (a folder that leaves a cycle fails the
// test until its entry is updated), and a cycle not listed fails it.
const KNOWN_CYCLES: Record<string, string[][]> = {
  'apps/gateway': [['reviews', 'tasks']],
  'apps/reasoner': [['events', 'execution', 'thought']],
  'apps/webhooks': [['dispatch', 'messages']],
  'libs/contracts': [['events', 'http', 'ledger', 'webhooks']],
};

type FolderGraph = Map<string, Set<string>>;

function folderOf(src: string, file: string): string | null {
  const parts = relative(src, file).split(sep);
  return parts.length > 1 ? parts[0]! : null;
}

function folderGraph(src: string): FolderGraph {
  const graph: FolderGraph = new Map();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.ts$/.test(entry.name) && !/\.d\.ts$/.test(entry.name)) {
        const from = folderOf(src, path);
        if (!from) continue;
        const imports = ts.preProcessFile(readFileSync(path, 'utf8'), true, true).importedFiles;
        for (const { fileName } of imports) {
          if (!fileName.startsWith('.')) continue;
          const to = folderOf(src, resolve(dirname(path), fileName));
          if (!to || to === from) continue;
          graph.set(from, (graph.get(from) ?? new Set()).add(to));
        }
      }
    }
  };
  walk(src);
  return graph;
}

/** The strongly connected components with more than one folder (Tarjan), each sorted, in sorted order. */
function folderCycles(graph: FolderGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string) => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1) cycles.push(component.sort());
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return cycles.sort((a, b) => a.join().localeCompare(b.join()));
}

const projects = ['apps', 'libs'].flatMap((kind) =>
  readdirSync(join(ROOT, kind), { withFileTypes: true })
    .filter((p) => p.isDirectory() && existsSync(join(ROOT, kind, p.name, 'src')))
    .map((p) => `${kind}/${p.name}`),
);

describe('folder imports', () => {
  it('finds a cycle through several folders, and none in a chain', () => {
    const graph = (edges: [string, string][]): FolderGraph => {
      const g: FolderGraph = new Map();
      for (const [from, to] of edges) g.set(from, (g.get(from) ?? new Set()).add(to));
      return g;
    };
    expect(
      folderCycles(
        graph([
          ['bookings', 'breaker'],
          ['breaker', 'budgets'],
          ['budgets', 'bookings'],
          ['reservations', 'bookings'],
        ]),
      ),
    ).toEqual([['bookings', 'breaker', 'budgets']]);
    expect(
      folderCycles(
        graph([
          ['reservations', 'bookings'],
          ['bookings', 'spending'],
          ['reservations', 'spending'],
        ]),
      ),
    ).toEqual([]);
  });

  it('are read from the source', () => {
    expect(projects).toEqual(expect.arrayContaining(['apps/ledger', 'apps/gateway', 'libs/contracts']));
    expect([...(folderGraph(join(ROOT, 'apps/ledger/src')).get('reservations') ?? [])]).toContain('spending');
  });

  it.each(projects)('of %s form no cycle but the known ones', (project) => {
    expect(folderCycles(folderGraph(join(ROOT, project, 'src')))).toEqual(KNOWN_CYCLES[project] ?? []);
  });
});
