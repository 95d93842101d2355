import { describe, expect, it } from 'vitest';
import { barChart, formatDuration, lineChart, niceDomain, niceScale, niceTicks } from '../../src/certify/html/index.js';
import { formatTicks } from '../../src/certify/html/format.js';

describe('niceTicks / niceDomain', () => {
  it('pick round steps covering the data', () => {
    expect(niceTicks(0, 19.3, 6)).toEqual([0, 5, 10, 15, 20]);
    expect(niceTicks(0, 100, 5)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0, 1, 4)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(niceTicks(500, 20000, 6)).toEqual([0, 5000, 10000, 15000, 20000]);
    expect(niceDomain(-3, 47, 5)).toEqual([-10, 50]);
  });

  it('put every tick inside the domain, on multiples of one step', () => {
    for (const [min, max] of [
      [-3, 47],
      [0, 19.3],
      [0.2, 0.9],
      [-120, -4],
      [1, 1e6],
      [0, 3],
    ] as const) {
      const scale = niceScale(min, max, 6);
      expect(scale.min).toBeLessThanOrEqual(min);
      expect(scale.max).toBeGreaterThanOrEqual(max);
      expect(scale.ticks[0]).toBe(scale.min);
      expect(scale.ticks[scale.ticks.length - 1]).toBe(scale.max);
      for (const tick of scale.ticks) expect(Math.abs(tick / scale.step - Math.round(tick / scale.step))).toBeLessThan(1e-9);
    }
  });

  it('step by whole numbers for counts, and survive a zero-width range', () => {
    expect(niceTicks(0, 3, 6, true)).toEqual([0, 1, 2, 3]);
    expect(niceTicks(0, 0, 6, true)).toEqual([0, 1]);
    expect(niceDomain(5, 5, 6)).toEqual([4.4, 5.6]);
    expect(niceDomain(-2, -2, 6)[0]).toBeLessThan(-2);
  });

  it('have no floating-point noise', () => {
    for (const tick of niceTicks(0, 0.7, 7)) expect(String(tick)).toMatch(/^\d+(\.\d{1,2})?$/);
  });
});

describe('formatting', () => {
  it('labels one axis in one unit', () => {
    expect(formatTicks([0, 5000, 10000, 15000])).toEqual(['0', '5k', '10k', '15k']);
    expect(formatTicks([0, 0.5, 1])).toEqual(['0', '0.5', '1']);
    expect(formatTicks([0, 2_500_000])).toEqual(['0', '2.5M']);
  });

  it('formats durations for people', () => {
    expect(formatDuration(450)).toBe('450 ms');
    expect(formatDuration(2350)).toBe('2.35 s');
    expect(formatDuration(185_000)).toBe('3 min 05 s');
    expect(formatDuration(3_720_000)).toBe('1 h 02 min');
    expect(formatDuration(Number.NaN)).toBe('–');
  });
});

describe('lineChart', () => {
  it('draws axes, tick labels, axis labels, a legend and one path per series', () => {
    const svg = lineChart({
      title: 'Latency',
      xLabel: 'operations',
      yLabel: 'ms',
      series: [
        {
          name: 'p50',
          points: [
            { x: 0, y: 1 },
            { x: 10, y: 2 },
            { x: 20, y: 1.5 },
          ],
        },
        {
          name: 'p95',
          points: [
            { x: 0, y: 4 },
            { x: 10, y: 6 },
            { x: 20, y: 5 },
          ],
          dashed: true,
        },
      ],
    });
    expect(svg.startsWith('<svg ')).toBe(true);
    expect(svg.endsWith('</svg>')).toBe(true);
    expect(svg).toContain('<title>Latency</title>');
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(svg).toContain('stroke-dasharray="6 4"');
    expect(svg.match(/class="chart-axis"/g)!.length).toBeGreaterThanOrEqual(2);
    expect(svg).toContain('>operations</text>');
    expect(svg).toContain('>ms</text>');
    expect(svg).toContain('>p50</text>');
    expect(svg).toContain('>p95</text>');
    expect(svg.match(/<circle /g)).toHaveLength(6);
    expect(svg).toContain('<title>p95: x 10, y 6</title>');
  });

  it('breaks the line at a non-finite value and keeps every coordinate finite', () => {
    const svg = lineChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      series: [
        {
          name: 's',
          points: [
            { x: 0, y: 1 },
            { x: 1, y: Number.NaN },
            { x: 2, y: 3 },
            { x: 3, y: 4 },
          ],
        },
      ],
    });
    const path = /<path d="([^"]+)"/.exec(svg)![1]!;
    expect(path.match(/M/g)).toHaveLength(2);
    expect(svg).not.toMatch(/NaN|Infinity/);
  });

  it('handles a single point and no data', () => {
    const single = lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 's', points: [{ x: 5, y: 5 }] }] });
    expect(single).not.toMatch(/NaN|Infinity/);
    expect(single).toContain('<circle ');
    const empty = lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 's', points: [] }] });
    expect(empty).toContain('>no data</text>');
    expect(empty).not.toContain('<path');
  });

  it('drops hover markers on long series but still draws the line', () => {
    const points = Array.from({ length: 500 }, (_, index) => ({ x: index, y: index % 7 }));
    const svg = lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 's', points }] });
    expect(svg).not.toContain('<circle');
    expect(svg.match(/L/g)!.length).toBeGreaterThanOrEqual(499);
  });
});

describe('barChart', () => {
  it('draws one bar per series per category, with values and category labels', () => {
    const svg = barChart({
      title: 'Contention',
      yLabel: 'requests',
      categories: ['a', 'b'],
      series: [
        { name: 'contenders', values: [50, 20] },
        { name: 'winners', values: [1, 0] },
      ],
    });
    expect(svg.match(/<rect /g)).toHaveLength(4);
    expect(svg).toContain('<title>a — contenders: 50</title>');
    expect(svg).toContain('<title>b — winners: 0</title>');
    expect(svg).toContain('class="chart-value">50</text>');
    expect(svg).toMatch(/>a<\/text>/);
    expect(svg).toContain('>requests</text>');
    expect(svg).not.toMatch(/NaN|Infinity/);
    // Bars stand on the zero line: every bar's bottom is the same y.
    const bottoms = [...svg.matchAll(/<rect x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"/g)].map((match) =>
      Math.round(Number(match[1]) + Number(match[2])),
    );
    expect(new Set(bottoms).size).toBe(1);
  });

  it('truncates a long category label and keeps the full name on hover', () => {
    const long = 'a very long contention test name that cannot fit under its bars';
    const svg = barChart({ title: 't', yLabel: 'n', categories: [long, 'b', 'c', 'd', 'e', 'f'], series: [{ name: 's', values: [1, 2, 3, 4, 5, 6] }] });
    expect(svg).toContain(`<title>${long}</title>`);
    expect(svg).toMatch(/a very long[^<]*…/);
  });

  it('says there is no data rather than drawing empty axes', () => {
    expect(barChart({ title: 't', yLabel: 'n', categories: [], series: [] })).toContain('>no data</text>');
  });
});
