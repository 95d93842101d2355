import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderCertificationHtml, type CertificationReportView } from '../../src/certify/html/index.js';
import { PHASE_NAMES, sampleReportView } from './fixtures/report-view.js';

function count(haystack: string, needle: RegExp): number {
  return (haystack.match(new RegExp(needle.source, `${needle.flags.replace('g', '')}g`)) ?? []).length;
}

const HOSTILE = '<script>alert("pwned")</script>';

describe('renderCertificationHtml', () => {
  it('shows the verdict, every phase and every invariant of a certified run', () => {
    const view = sampleReportView();
    const html = renderCertificationHtml(view);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('CERTIFIED');
    expect(html).not.toContain('NOT CERTIFIED');
    expect(html).toMatch(/<header class="banner pass">/);
    for (const name of PHASE_NAMES) expect(html).toContain(`<strong>${name}</strong>`);
    expect(count(html, /<tr class="pass"><td class="num">\d<\/td>/)).toBe(7);
    for (const invariant of view.invariants) expect(html).toContain(`<code>${invariant.id}</code>`);
    expect(html).toContain('7 / 7');
    expect(html).toContain('10 / 10');
    expect(html).toContain('bookiji certify --seed 42');
    expect(html).toContain('5947474c397140f1793b52727aafcd77a5221c03');
    // Durations and numbers are formatted for people.
    expect(html).toContain('1 min 01 s');
    expect(html).toContain('20,000');
  });

  it('shows NOT CERTIFIED, the reasons and the failed phase when a phase fails', () => {
    const view = sampleReportView();
    const failed: CertificationReportView = {
      ...view,
      verdict: 'NOT CERTIFIED',
      reasons: ['Phase 1: 2 winners on a slot of capacity 1'],
      phases: view.phases.map((phase) => (phase.id === 1 ? { ...phase, passed: false } : phase)),
      invariants: view.invariants.map((invariant) =>
        invariant.id === 'I1' ? { ...invariant, passed: false, detail: 'slot 17: 2 active bookings' } : invariant,
      ),
    };
    const html = renderCertificationHtml(failed);
    expect(html).toContain('NOT CERTIFIED');
    expect(html).toMatch(/<header class="banner fail">/);
    expect(html).toContain('Phase 1: 2 winners on a slot of capacity 1');
    expect(html).toMatch(/<tr class="fail"><td class="num">1<\/td>/);
    expect(html).toContain('>FAIL<');
    expect(html).toContain('>VIOLATED<');
    expect(html).toContain('6 / 7');
    expect(html).not.toContain('Inconsistent report');
  });

  it('flags a CERTIFIED verdict over a failed phase as inconsistent instead of repeating it', () => {
    const view = sampleReportView();
    const html = renderCertificationHtml({ ...view, phases: view.phases.map((phase) => (phase.id === 3 ? { ...phase, passed: false } : phase)) });
    expect(html).toContain('Inconsistent report: the verdict is CERTIFIED but 1 phase(s) and 0 invariant(s) failed.');
  });

  it('draws one <svg> per chart that has data, and none for missing data', () => {
    const view = sampleReportView();
    const full = renderCertificationHtml(view);
    expect(count(full, /<svg\b/)).toBe(4);
    for (const title of ['Soak latency over time', 'Contention: contenders, winners, conflicts', 'Table sizes over the soak', 'Leftover holds over the soak']) {
      expect(full).toContain(`aria-label="${title}"`);
    }
    // The soak latency chart has a p50 and a p95 line; the bar chart 3 bars per test.
    expect(count(full, /<path d="M/)).toBe(2 + 3 + 1);
    expect(count(full, /<rect /)).toBe(view.contention!.length * 3);

    const soakOnly = renderCertificationHtml({ ...view, contention: undefined, soak: { buckets: view.soak!.buckets } });
    expect(count(soakOnly, /<svg\b/)).toBe(1);
    const contentionOnly = renderCertificationHtml({ ...view, soak: undefined });
    expect(count(contentionOnly, /<svg\b/)).toBe(1);
    const none = renderCertificationHtml({ ...view, soak: { buckets: [], tableSizes: [], leftoverHolds: [] }, contention: [] });
    expect(count(none, /<svg\b/)).toBe(0);
    expect(none).toContain('No soak or contention data in this report.');
  });

  it('is self-contained: no script, no external resource, and a CSP that forbids both', () => {
    const html = renderCertificationHtml(sampleReportView());
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<link\b|<img\b|<iframe\b|<object\b|<embed\b/i);
    expect(html).not.toMatch(/\b(src|href)\s*=/i);
    expect(html).not.toMatch(/@import|url\(/i);
    expect(html).not.toMatch(/\bon[a-z]+\s*=/i);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; style-src &#39;unsafe-inline&#39;`);
  });

  it('escapes a <script> injected into a phase evidence line', () => {
    const view = sampleReportView();
    view.phases[0]!.evidence = [...view.phases[0]!.evidence, HOSTILE];
    const html = renderCertificationHtml(view);
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('<li>&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;</li>');
  });

  it('escapes hostile text in every field that carries text', () => {
    const view = sampleReportView();
    const hostileView: CertificationReportView = {
      ...view,
      title: HOSTILE,
      generatedAt: HOSTILE,
      subject: { gitCommit: HOSTILE, schemaSha256: HOSTILE },
      signature: { keyId: HOSTILE, envelopeFile: HOSTILE },
      reasons: [HOSTILE],
      reproduceCommand: HOSTILE,
      environment: { [HOSTILE]: HOSTILE },
      seeds: { [HOSTILE]: HOSTILE },
      phases: [{ id: 1, name: HOSTILE, passed: false, durationMs: 1, evidence: Array(8).fill(HOSTILE), numbers: { [HOSTILE]: HOSTILE }, summary: HOSTILE }],
      invariants: [{ id: HOSTILE, name: HOSTILE, passed: false, detail: HOSTILE }],
      soak: {
        buckets: [{ index: 0, opsDone: 1, p50Ms: 1, p95Ms: 2, simulatedDay: HOSTILE }],
        tableSizes: [{ opsDone: 1, rows: { [HOSTILE]: 3 } }],
        leftoverHolds: [{ opsDone: 1, holds: 0 }],
      },
      contention: [{ name: HOSTILE, contenders: 2, winners: 1, conflicts: 1, p50Ms: 1, p99Ms: 2 }],
    };
    const html = renderCertificationHtml(hostileView);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toContain('"pwned"');
    expect(count(html, /&lt;script&gt;/)).toBeGreaterThan(20);
  });

  it('never lets arbitrary text open a tag or break out of an attribute (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (evidence, name, environment) => {
        const view = sampleReportView();
        view.phases[0]!.evidence = [evidence];
        view.phases[1]!.name = name;
        view.contention![0]!.name = name;
        view.environment = { key: environment };
        const html = renderCertificationHtml(view);
        expect(html).not.toMatch(/<script/i);
        const escaped = (text: string) =>
          text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
        expect(html).toContain(`<li>${escaped(evidence)}</li>`);
        expect(html).toContain(`<td>${escaped(environment)}</td>`);
      }),
      { numRuns: 200 },
    );
  });

  it('renders a minimal view (no optional fields, list of seeds) without a chart', () => {
    const html = renderCertificationHtml({
      verdict: 'NOT CERTIFIED',
      environment: {},
      seeds: [7, 'abc'],
      phases: [],
      invariants: [],
    });
    expect(html).toContain('NOT CERTIFIED');
    expect(html).toContain('No phase ran.');
    expect(html).toContain('No invariant was checked.');
    expect(html).toContain('<tr><th>seed 1</th><td><code>7</code></td></tr>');
    expect(html).not.toMatch(/<svg/);
  });
});
