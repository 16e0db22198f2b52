// What a report says about where it ran: the machine and the code under test.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { root } from './run.ts';

export interface Machine {
  cpus: number;
  memGiB: number;
  cpuModel: string;
  node: string;
  load: number[];
}

export function machine(): Machine {
  let model: string | undefined;
  try {
    model = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim();
  } catch {
    // not Linux
  }
  return {
    cpus: os.availableParallelism(),
    memGiB: os.totalmem() / 2 ** 30,
    cpuModel: model ?? os.cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    load: os.loadavg(),
  };
}

/** "8 CPUs (model), 15.6 GiB RAM, load average 0.10 / 0.20 / 0.30 at start; Node v24…" */
export const machineLine = (m: Machine): string =>
  `${m.cpus} CPUs (${m.cpuModel}), ${m.memGiB.toFixed(1)} GiB RAM, load average ${m.load.map((x) => x.toFixed(2)).join(' / ')} at start; Node ${m.node}`;

/** The commit under test, and whether the working tree (or the given paths) differs from it. */
export function codeVersion(statusArgs: readonly string[] = []): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root }).toString().trim();
    const changed = execFileSync('git', ['status', '--porcelain', ...statusArgs], { cwd: root })
      .toString()
      .trim();
    return `${commit}${changed ? ' with uncommitted changes' : ''}`;
  } catch {
    return 'unknown commit';
  }
}
