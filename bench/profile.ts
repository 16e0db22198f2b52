// Where the CPU went: summarises V8 CPU profiles written by a benchmark run with BENCH_CPU_PROF.
//
//   BENCH_CPU_PROF=gateway,triage npm run bench:fast-path     profile those services (or BENCH_CPU_PROF=all)
//   npm run bench:profile                                      the newest profile of each service in .local/bench/prof
//   npm run bench:profile -- FILE.cpuprofile ...               the given profiles
//
// Options (environment): TOP=20 rows per table.
// For each profile: busy CPU time (idle left out), self time by area (npm package, app or lib of this repository,
// Node's internals, garbage collector), time with each area anywhere on the stack, and the hottest functions by
// self time, as markdown tables ready for docs/benchmarks.md.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type CpuProfile, shareTable, summarizeProfile } from './lib/cpu-profile.ts';
import { helpFromHeader, numberOption } from './lib/options.ts';
import { profileDir } from './lib/run.ts';

helpFromHeader(import.meta.url);
const TOP = numberOption('TOP', 20, { min: 1, max: 500 });

function newestPerService(): string[] {
  let files: string[];
  try {
    files = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'));
  } catch {
    return [];
  }
  const newest = new Map<string, { file: string; mtime: number }>();
  for (const f of files) {
    const service = f.replace(/-\d+\.cpuprofile$/, '');
    const path = join(profileDir, f);
    const mtime = statSync(path).mtimeMs;
    const seen = newest.get(service);
    if (!seen || seen.mtime < mtime) newest.set(service, { file: path, mtime });
  }
  return [...newest.values()].map((v) => v.file).sort();
}

const files = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const chosen = files.length ? files : newestPerService();
if (!chosen.length) {
  console.error(
    `no profiles: run a benchmark with BENCH_CPU_PROF=<service,...> first (they go to ${profileDir})`,
  );
  process.exit(1);
}
for (const file of chosen) {
  const summary = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  console.log(
    `\n#### ${basename(file)}: ${(summary.busyMs / 1000).toFixed(1)} s busy of ${(summary.wallMs / 1000).toFixed(1)} s (${summary.samples} samples)\n`,
  );
  console.log(shareTable('Area (self)', summary.areas, TOP));
  console.log('');
  console.log(shareTable('Area (on the stack)', summary.areasInclusive, TOP));
  console.log('');
  console.log(shareTable('Function (self)', summary.functions, TOP));
}
