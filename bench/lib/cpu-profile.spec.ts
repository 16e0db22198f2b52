import { areaOf, type CpuProfile, shareTable, summarizeProfile } from './cpu-profile.ts';

const frame = (functionName: string, url = '', lineNumber = 0) => ({
  functionName,
  url,
  lineNumber,
  columnNumber: 0,
});

// root → kafkajs decode → (own) handler → pg query; plus idle and GC samples.
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 5, 6] },
    { id: 2, callFrame: frame('decode', 'file:///r/node_modules/kafkajs/src/codec.js', 9), children: [3] },
    { id: 3, callFrame: frame('handle', 'file:///r/apps/triage/dist/handler.js', 19), children: [4] },
    { id: 4, callFrame: frame('query', 'file:///r/node_modules/@scope/pg/lib/q.js', 4) },
    { id: 5, callFrame: frame('(idle)') },
    { id: 6, callFrame: frame('(garbage collector)') },
  ],
  startTime: 0,
  endTime: 10_000,
  // Each sample lasts until the next one: 1 ms each here.
  samples: [2, 3, 4, 4, 5, 5, 5, 5, 6, 4],
  timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
};

describe('summarizeProfile', () => {
  const s = summarizeProfile(profile);

  it('leaves idle time out of the busy time and the shares', () => {
    expect(s.busyMs).toBe(6);
    expect(s.wallMs).toBe(10);
    expect(s.areas.find((a) => a.name === '(idle)')).toBeUndefined();
  });

  it('ranks self time by area, highest first', () => {
    expect(s.areas.map((a) => [a.name, a.ms])).toEqual([
      ['@scope/pg', 3],
      ['kafkajs', 1],
      ['apps/triage', 1],
      ['(garbage collector)', 1],
    ]);
    expect(s.areas[0]?.share).toBeCloseTo(0.5);
  });

  it('counts an area once per sample wherever it sits on the stack', () => {
    const kafkajs = s.areasInclusive.find((a) => a.name === 'kafkajs');
    expect(kafkajs?.ms).toBe(5);
    expect(s.areasInclusive.find((a) => a.name === 'apps/triage')?.ms).toBe(4);
  });

  it('names functions with their file and 1-based line, relative to node_modules or the repository', () => {
    expect(s.functions[0]?.name).toBe('query (@scope/pg/lib/q.js:5)');
    expect(s.functions.map((f) => f.name)).toContain('handle (apps/triage/dist/handler.js:20)');
  });
});

describe('areaOf', () => {
  it('takes the innermost package of nested node_modules', () => {
    expect(areaOf(frame('f', 'file:///r/node_modules/a/node_modules/b/index.js'))).toBe('b');
  });
  it('groups Node internals and libraries of this repository', () => {
    expect(areaOf(frame('f', 'node:internal/streams/readable'))).toBe('node:internal');
    expect(areaOf(frame('f', 'file:///r/libs/kafka/dist/x.js'))).toBe('libs/kafka');
  });
});

describe('shareTable', () => {
  it('renders the top rows as markdown with escaped pipes', () => {
    const table = shareTable('Area', [{ name: 'a|b', ms: 12.4, share: 0.5 }], 5);
    expect(table.split('\n')).toEqual([
      '| Area | CPU ms | of busy |',
      '| --- | ---: | ---: |',
      '| a\\|b | 12 | 50.0% |',
    ]);
  });
});
