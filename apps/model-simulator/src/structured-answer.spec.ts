import {
  classifyComplexity,
  judgeAnswers,
  minimalJsonValue,
  rankDocuments,
  structuredAnswer,
} from './structured-answer';

describe('classifyComplexity', () => {
  it.each([
    ['What is 2 + 2?', 'simple'],
    ['Prove that sqrt(2) is irrational', 'complex'],
    ['Can you derive the formula?', 'complex'],
    ['Please analyze these logs', 'complex'],
    ['Analyse these logs', 'complex'],
    ['Walk me through it step by step', 'complex'],
    ['Plan my week', 'complex'],
    ['Optimise this query', 'complex'],
    ['Compare Postgres and MySQL', 'complex'],
    ['What are the trade-offs?', 'complex'],
    ['Diagnose the outage', 'complex'],
    ['Name a planet', 'simple'],
    ['a'.repeat(1_201), 'complex'],
    ['a'.repeat(1_200), 'simple'],
  ])('%s → %s', (text, expected) => {
    expect(classifyComplexity(text, {}).complexity).toBe(expected);
  });

  it('lets a directive override the heuristic', () => {
    expect(classifyComplexity('Prove it', { complexity: 'simple' })).toEqual({
      complexity: 'simple',
      reason: 'forced by the [[sim:complexity=simple]] directive',
    });
    expect(classifyComplexity('hi', { complexity: 'complex' }).complexity).toBe('complex');
  });
});

describe('minimalJsonValue', () => {
  it('fills required properties by type, resolving $ref, anyOf and nullable types', () => {
    const schema = {
      type: 'object',
      properties: {
        name: { type: 'string' },
        count: { type: 'integer', minimum: 1 },
        kind: { $ref: '#/$defs/kind' },
        maybe: { anyOf: [{ type: 'null' }, { type: 'boolean' }] },
        nullable: { type: ['null', 'number'] },
        list: { type: 'array', minItems: 2, items: { const: 'x' } },
        child: { type: 'object', properties: { deep: { type: 'string' } }, required: ['deep'] },
        skipped: { type: 'string' },
      },
      required: ['name', 'count', 'kind', 'maybe', 'nullable', 'list', 'child'],
      $defs: { kind: { enum: ['alpha', 'beta'] } },
    };
    expect(minimalJsonValue(schema)).toEqual({
      name: 'simulated',
      count: 1,
      kind: 'alpha',
      maybe: false,
      nullable: 0,
      list: ['x', 'x'],
      child: { deep: 'simulated' },
    });
  });

  it('stops on recursive schemas', () => {
    const schema = {
      type: 'object',
      properties: { next: { $ref: '#' } },
      required: ['next'],
    };
    expect(() => JSON.stringify(minimalJsonValue(schema))).not.toThrow();
  });
});

describe('structuredAnswer', () => {
  it('answers a classifier schema, keeping its other required fields', () => {
    const content = structuredAnswer({
      kind: 'json_schema',
      schema: {
        type: 'object',
        properties: {
          complexity: { enum: ['simple', 'complex'] },
          reason: { type: 'string' },
          confidence: { type: 'number' },
        },
        required: ['complexity', 'reason', 'confidence'],
      },
      lastUserText: 'Compare these two designs',
      allText: '',
      directives: {},
      answer: 'unused',
    });
    expect(JSON.parse(content)).toEqual({ complexity: 'complex', reason: expect.any(String), confidence: 0 });
  });

  it('treats a json_object prompt mentioning complexity as the classifier', () => {
    const content = structuredAnswer({
      kind: 'json_object',
      schema: undefined,
      lastUserText: 'hello',
      allText: 'Rate the complexity as JSON\nhello',
      directives: {},
      answer: 'unused',
    });
    expect(JSON.parse(content)).toEqual({ complexity: 'simple', reason: 'short, direct request' });
  });
});

describe('rankDocuments', () => {
  it('reads every document block, attributes and all, and ranks by the words shared with the question', () => {
    const prompt =
      'Question: postgres replication lag\n\n<document index="1" title="a">mysql tuning</document>\n' +
      '<document index="2" id="d2">postgres replication setup</document>';
    expect(rankDocuments(prompt).map((d) => [d.index, d.reason])).toEqual([
      [2, 'shares postgres, replication'],
      [1, 'no overlap with the question'],
    ]);
  });

  it('skips malformed openings and stops at blocks that are never closed, however many', () => {
    const prompt =
      '<document index="x">a</document><document index="">b</document><document index="3">c</document>';
    expect(rankDocuments(prompt).map((d) => d.index)).toEqual([3]);
    expect(rankDocuments('<document index="1">'.repeat(50_000))).toEqual([]);
    expect(rankDocuments('<document index="1"'.repeat(50_000))).toEqual([]);
  });
});

describe('judgeAnswers', () => {
  const prompt = (a: string, b: string) =>
    `Question:\nCapital of France?\n\nAnswer A:\n${a}\n\nAnswer B:\n${b}`;

  it('finds two simulated answers to one question the same, whichever models gave them', () => {
    expect(
      judgeAnswers(
        prompt('Simulated answer from sim-reasoner: Paris', 'Simulated answer from sim-standard:  PARIS'),
        {},
      ),
    ).toEqual({ same: true, reason: 'both answers say the same' });
    expect(judgeAnswers(prompt('Paris', 'Lyon'), {})).toEqual({ same: false, reason: 'the answers differ' });
  });

  it('does as a directive says, and says so', () => {
    expect(judgeAnswers(prompt('Paris', 'Paris'), { judge: 'different' })).toEqual({
      same: false,
      reason: 'forced by the [[sim:judge=different]] directive',
    });
  });

  it('answers through a structured answer whose schema asks same and reason', () => {
    const schema = { type: 'object', properties: { same: { type: 'boolean' }, reason: { type: 'string' } } };
    const text = prompt('Simulated answer from a: 42', 'Simulated answer from b: 42');
    expect(
      JSON.parse(
        structuredAnswer({
          kind: 'json_schema',
          schema,
          lastUserText: text,
          allText: text,
          directives: {},
          answer: '',
        }),
      ),
    ).toEqual({ same: true, reason: 'both answers say the same' });
  });

  it('has nothing to compare without both answers', () => {
    expect(judgeAnswers('Answer A: only one', {})).toEqual({
      same: false,
      reason: 'no two answers to compare',
    });
  });
});
