// CPU time and memory by process from /proc: snapshots of every process's ticks, grouped by component (the run's
// children by pid, Postgres and Kafka by process), and the difference between two snapshots.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

let ticksPerSecond = 100;
try {
  ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
} catch {
  // 100 on every Linux this runs on
}
export const clockTicks = ticksPerSecond;
export const ticksToMs = (ticks: number): number => (ticks / clockTicks) * 1000;

/** VmRSS and VmHWM of a process, in MiB (NaN when it is gone). */
export function memoryOf(pid: number | undefined): { rssMiB: number; hwmMiB: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
    return { rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024 };
  } catch {
    return { rssMiB: NaN, hwmMiB: NaN };
  }
}

export interface ProcessInfo {
  pid: number;
  comm: string;
  /** Reads the command line lazily ('' if the process ended). */
  cmdline: () => string;
}

/** Names the component a process belongs to; undefined for unrelated processes. */
export type Classifier = (p: ProcessInfo) => string | undefined;

interface ProcSample {
  group: string | undefined;
  comm: string;
  label: string;
  ticks: number;
}

export interface CpuSnapshot {
  at: number;
  procs: Map<number, ProcSample>;
  idle: number;
  all: number;
  /** user + nice + system ticks of the machine. */
  processTime: number;
}

const readCmdline = (pid: number) => () => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
};

/** The usual grouping: the run's own processes by pid, every Postgres process, a Java broker running kafka.Kafka. */
export function byComponent(
  ours: ReadonlyMap<number | undefined, string>,
  kafkaPid?: number | null,
): Classifier {
  return (p) =>
    ours.get(p.pid) ??
    (p.pid === kafkaPid ? 'kafka' : undefined) ??
    (p.comm === 'postgres' ? 'postgres' : undefined) ??
    (p.comm === 'java' && p.cmdline().includes('kafka.Kafka') ? 'kafka' : undefined);
}

/** A readable name for an unrelated process: "node jest", "npm ci" … */
function labelOf(comm: string, cmdline: string): string {
  if (comm === 'postgres') return 'postgres (other databases)';
  const argv = cmdline.split('\0').filter(Boolean);
  const base = (a: string) => a.split('/').pop() ?? a;
  return argv.length ? argv.slice(0, 2).map(base).join(' ').slice(0, 40) : comm;
}

export function cpuSnapshot(classify: Classifier): CpuSnapshot {
  const procs = new Map<number, ProcSample>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const pid = Number(d);
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmdline = readCmdline(pid);
      const group = classify({ pid, comm, cmdline });
      procs.set(pid, {
        group,
        comm,
        label: group ? comm : labelOf(comm, cmdline()),
        ticks: Number(f[11]) + Number(f[12]), // utime + stime
      });
    } catch {
      // the process ended meanwhile
    }
  }
  const cpu = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0] = cpu;
  return {
    at: performance.now(),
    procs,
    idle: idle + iowait,
    all: cpu.reduce((a, b) => a + b, 0),
    processTime: user + nice + system,
  };
}

export interface CpuDelta {
  seconds: number;
  /** The machine's busy share (0..1). */
  busy: number;
  /** Machine ticks in the interval (all CPUs). */
  allTicks: number;
  /** Ticks by component. */
  byGroup: Map<string, number>;
  /** Ticks of kernel threads (partly on the run's behalf). */
  kernel: number;
  /** Ticks of unrelated processes, and by their label. */
  foreign: number;
  foreignByLabel: Map<string, number>;
  /** user + nice + system ticks of the machine: catches processes that ended in between. */
  processBusy: number;
}

/** CPU used between two snapshots; processes that ended in between are not counted by process. */
export function cpuDelta(a: CpuSnapshot, b: CpuSnapshot): CpuDelta {
  const byGroup = new Map<string, number>();
  const foreignByLabel = new Map<string, number>();
  let kernel = 0;
  let foreign = 0;
  for (const [pid, p] of b.procs) {
    const before = a.procs.get(pid);
    const delta = Math.max(0, p.ticks - (before && before.comm === p.comm ? before.ticks : 0));
    if (p.group) byGroup.set(p.group, (byGroup.get(p.group) ?? 0) + delta);
    else if (/^(ksoftirqd|kworker|rcu_|migration)/.test(p.comm)) kernel += delta;
    else {
      foreign += delta;
      if (delta > 0) foreignByLabel.set(p.label, (foreignByLabel.get(p.label) ?? 0) + delta);
    }
  }
  const allTicks = b.all - a.all;
  return {
    seconds: (b.at - a.at) / 1000,
    busy: allTicks > 0 ? 1 - (b.idle - a.idle) / allTicks : NaN,
    allTicks,
    byGroup,
    kernel,
    foreign,
    foreignByLabel,
    processBusy: b.processTime - a.processTime,
  };
}

/** The busiest unrelated processes, as [label, ticks], busiest first. */
export const topForeign = (d: CpuDelta, n = 3): [string, number][] =>
  [...d.foreignByLabel].sort((x, y) => y[1] - x[1]).slice(0, n);
