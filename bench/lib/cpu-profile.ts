// Where a service's CPU time goes, from a V8 `.cpuprofile` (`node --cpu-prof`): self time per function and, per
// area (an npm package, an app or lib of this repository, Node's internals, the garbage collector), both the time
// spent in its own code and the time spent with it anywhere on the stack. Idle time is left out of every share.

export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

export interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Share {
  name: string;
  ms: number;
  /** Of the busy time (everything but idle), 0..1. */
  share: number;
}

export interface ProfileSummary {
  wallMs: number;
  busyMs: number;
  samples: number;
  /** Self time by function, `name (file:line)`, highest first. */
  functions: Share[];
  /** Self time by area, highest first. */
  areas: Share[];
  /** Time with the area anywhere on the stack, highest first. */
  areasInclusive: Share[];
}

const IDLE = '(idle)';

/** The area a frame belongs to: an npm package, `apps/x`, `libs/x`, `node:internal`, or a V8 pseudo-frame. */
export function areaOf(frame: CallFrame): string {
  const url = frame.url;
  if (!url) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(url);
  if (pkg) return pkg[1] ?? url;
  if (url.startsWith('node:')) return 'node:internal';
  const own = /\/((?:apps|libs)\/[^/]+)\//.exec(url);
  if (own) return own[1] ?? url;
  return url.replace(/^file:\/\//, '');
}

function frameName(frame: CallFrame): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  const file = frame.url.replace(/^file:\/\//, '').replace(/^.*?node_modules\//, '');
  const short = file.replace(/^.*?\/((?:apps|libs)\/)/, '$1');
  return `${name} (${short}:${frame.lineNumber + 1})`;
}

function ranked(totals: Map<string, number>, busyMs: number): Share[] {
  return [...totals.entries()]
    .map(([name, us]) => ({ name, ms: us / 1000, share: busyMs > 0 ? us / 1000 / busyMs : 0 }))
    .sort((a, b) => b.ms - a.ms);
}

export function summarizeProfile(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  // Sample i lasts until sample i + 1 (timeDeltas[i + 1]); the last one gets the mean interval.
  const n = profile.samples.length;
  const total = profile.timeDeltas.reduce((a, b) => a + b, 0);
  const mean = n > 0 ? total / n : 0;
  const selfUs = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const id = profile.samples[i] as number;
    const us = i + 1 < n ? Math.max(0, profile.timeDeltas[i + 1] ?? 0) : mean;
    selfUs.set(id, (selfUs.get(id) ?? 0) + us);
  }

  const functions = new Map<string, number>();
  const areas = new Map<string, number>();
  const areasInclusive = new Map<string, number>();
  let idleUs = 0;
  let allUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    allUs += us;
    const frame = node.callFrame;
    if (frame.functionName === IDLE) {
      idleUs += us;
      continue;
    }
    const fn = frameName(frame);
    functions.set(fn, (functions.get(fn) ?? 0) + us);
    const area = areaOf(frame);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)?.callFrame;
      if (!f || f.functionName === '(root)') continue;
      seen.add(areaOf(f));
    }
    for (const a of seen) areasInclusive.set(a, (areasInclusive.get(a) ?? 0) + us);
  }
  const busyMs = (allUs - idleUs) / 1000;
  return {
    wallMs: (profile.endTime - profile.startTime) / 1000,
    busyMs,
    samples: n,
    functions: ranked(functions, busyMs),
    areas: ranked(areas, busyMs),
    areasInclusive: ranked(areasInclusive, busyMs),
  };
}

const pct = (s: number): string => `${(s * 100).toFixed(1)}%`;

/** A markdown table of the `top` entries of a ranking. */
export function shareTable(title: string, shares: readonly Share[], top: number): string {
  const rows = shares
    .slice(0, top)
    .map((s) => `| ${s.name.replaceAll('|', '\\|')} | ${s.ms.toFixed(0)} | ${pct(s.share)} |`);
  return [`| ${title} | CPU ms | of busy |`, '| --- | ---: | ---: |', ...rows].join('\n');
}
