// Twin of the smoke test: the report check it relies on really rejects
// malformed reports (a failed figure, too few repetitions, a missing
// figure, a ratio without a baseline), so a passing smoke test means
// something.

import { describe, expect, it } from 'vitest';
import { reportProblems } from './reportShape.js';

const spread = (samples: number[]) => ({ median: samples[1]!, min: samples[0]!, max: samples[2]!, samples });

function goodReport(): any {
  return {
    schema: 'bookiji-bench/1',
    repetitions: 3,
    machine: { cores: 2, memoryMb: 1024, postgres: 'PostgreSQL 17.6' },
    figures: [
      {
        id: '1',
        status: 'measured',
        checks: [{ id: '1.x', target: '≥ 1.0×', met: true, engine: spread([1, 2, 3]), baseline: spread([1, 1, 1]), ratio: spread([1, 2, 3]) }],
      },
      { id: '4', status: 'skipped', reason: 'no SimCity', checks: [] },
    ],
  };
}

describe('reportProblems', () => {
  it('accepts a well-formed report', () => {
    expect(reportProblems(goodReport(), ['1', '4'])).toEqual([]);
  });

  it('rejects a failed figure, a missing figure and a skipped one without a reason', () => {
    const report = goodReport();
    report.figures[1] = { id: '4', status: 'skipped', checks: [] };
    report.figures.push({ id: '5', status: 'failed', reason: 'boom', checks: [] });
    const problems = reportProblems(report, ['1', '4', '5', '6']);
    expect(problems).toContain('figure 6 missing');
    expect(problems).toContain('figure 5 failed: boom');
    expect(problems).toContain('figure 4 skipped without a reason');
  });

  it('rejects fewer than three repetitions, broken spreads and a ratio without a baseline', () => {
    const report = goodReport();
    report.figures[0].checks[0].ratio = { median: 2, min: 3, max: 1, samples: [2] };
    report.figures[0].checks[0].baseline = null;
    const problems = reportProblems(report, ['1']);
    expect(problems).toContain('1/1.x.ratio: 1 samples, fewer than 3 repetitions');
    expect(problems).toContain('1/1.x.ratio: min ≤ median ≤ max does not hold');
    expect(problems).toContain('1/1.x: a ratio without a baseline');
    report.repetitions = 1;
    expect(reportProblems(report, ['1'])).toContain('fewer than 3 repetitions');
  });
});
