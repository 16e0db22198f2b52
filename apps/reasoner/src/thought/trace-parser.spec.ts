import { parseTrace } from './trace-parser';

describe('parseTrace', () => {
  it('reads a tagged reasoning block and answer', () => {
    expect(parseTrace('<reasoning> step one. step two. </reasoning>\n<answer> 42 </answer>')).toEqual({
      trace: 'step one. step two.',
      answer: '42',
      parse: 'tagged',
    });
  });

  it('accepts tags in any case and an answer without a reasoning block', () => {
    expect(parseTrace('<ANSWER>yes</ANSWER>')).toEqual({ trace: null, answer: 'yes', parse: 'tagged' });
  });

  it('takes the whole content as the answer when there are no tags', () => {
    expect(parseTrace('  Paris is the capital.  ')).toEqual({
      trace: null,
      answer: 'Paris is the capital.',
      parse: 'untagged',
    });
  });

  it('takes what follows a closed reasoning block as the answer when the answer tag is missing', () => {
    expect(parseTrace('<reasoning>think</reasoning> the answer')).toEqual({
      trace: 'think',
      answer: 'the answer',
      parse: 'untagged',
    });
  });

  it('marks output cut inside the reasoning block as truncated, without an answer', () => {
    expect(parseTrace('<reasoning>First, restate the quest')).toEqual({
      trace: 'First, restate the quest',
      answer: null,
      parse: 'truncated',
    });
  });

  it('marks an answer cut before its closing tag as truncated', () => {
    expect(parseTrace('<reasoning>r</reasoning><answer>The result is')).toEqual({
      trace: 'r',
      answer: null,
      parse: 'truncated',
    });
  });

  it('marks reasoning with nothing after it as truncated', () => {
    expect(parseTrace('<reasoning>only thinking</reasoning>')).toEqual({
      trace: 'only thinking',
      answer: null,
      parse: 'truncated',
    });
  });

  it('marks empty content, and an empty answer block, as empty', () => {
    expect(parseTrace('')).toEqual({ trace: null, answer: null, parse: 'empty' });
    expect(parseTrace(null)).toEqual({ trace: null, answer: null, parse: 'empty' });
    expect(parseTrace('<answer>  </answer>')).toEqual({ trace: null, answer: null, parse: 'empty' });
  });
});
