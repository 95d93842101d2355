// The certification report as one self-contained HTML page: inline CSS and
// inline SVG, no script, no font, image or stylesheet from anywhere. A
// Content-Security-Policy forbids everything but inline styles, so even text
// that slipped past escaping could not run or load anything. The page is a
// reading aid; the signed JSON beside it is what a verifier trusts.

import { barChart, lineChart, type LineSeries } from './charts.js';
import { escapeHtml, formatDuration, formatFixed, formatNumber } from './format.js';
import type { CertificationReportView, ContentionView, InvariantView, PhaseView, SoakView } from './types.js';

/** Evidence lines shown before the rest fold into a "more" disclosure. */
const EVIDENCE_SHOWN_MAX = 5;

const CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

export function renderCertificationHtml(report: CertificationReportView): string {
  const title = report.title ?? 'Bookiji certification';
  const certified = report.verdict === 'CERTIFIED';
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(CONTENT_SECURITY_POLICY)}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    `<title>${escapeHtml(`${title} — ${report.verdict}`)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    banner(report, title, certified),
    '<main>',
    summaryCards(report),
    phasesSection(report.phases),
    invariantsSection(report.invariants),
    chartsSection(report.soak, report.contention),
    environmentSection(report),
    '</main>',
    footer(report),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function banner(report: CertificationReportView, title: string, certified: boolean): string {
  const facts: string[] = [];
  if (report.generatedAt) facts.push(`generated ${escapeHtml(report.generatedAt)}`);
  if (report.subject?.gitCommit) facts.push(`commit <code>${escapeHtml(report.subject.gitCommit)}</code>`);
  if (report.subject?.schemaSha256) facts.push(`schema sha256 <code>${escapeHtml(shortHash(report.subject.schemaSha256))}</code>`);
  const failedPhases = report.phases.filter((phase) => !phase.passed).length;
  const failedInvariants = report.invariants.filter((invariant) => !invariant.passed).length;
  // A CERTIFIED verdict over a failed phase or invariant is a certifier bug;
  // the page says so rather than repeat the verdict with a straight face.
  const inconsistent =
    certified && failedPhases + failedInvariants > 0
      ? `<p class="warning">Inconsistent report: the verdict is CERTIFIED but ${failedPhases} phase(s) and ${failedInvariants} invariant(s) failed.</p>`
      : '';
  const reasons =
    report.reasons && report.reasons.length > 0 ? `<ul class="reasons">${report.reasons.map((reason) => `<li>${escapeHtml(reason)}</li>`).join('')}</ul>` : '';
  return [
    `<header class="banner ${certified ? 'pass' : 'fail'}">`,
    `<div class="banner-title">${escapeHtml(title)}</div>`,
    `<div class="verdict">${certified ? '✔' : '✘'} ${escapeHtml(report.verdict)}</div>`,
    facts.length > 0 ? `<div class="facts">${facts.join(' · ')}</div>` : '',
    reasons,
    inconsistent,
    '</header>',
  ].join('');
}

function summaryCards(report: CertificationReportView): string {
  const phasesPassed = report.phases.filter((phase) => phase.passed).length;
  const invariantsHeld = report.invariants.filter((invariant) => invariant.passed).length;
  const totalMs = report.phases.reduce((sum, phase) => sum + (Number.isFinite(phase.durationMs) ? phase.durationMs : 0), 0);
  const cards = [
    card('Phases passed', `${phasesPassed} / ${report.phases.length}`, phasesPassed === report.phases.length),
    card('Invariants held', `${invariantsHeld} / ${report.invariants.length}`, invariantsHeld === report.invariants.length),
    card('Total phase time', formatDuration(totalMs), null),
  ];
  const seeds = seedEntries(report.seeds);
  if (seeds.length > 0) cards.push(card(seeds.length === 1 ? 'Seed' : 'Seeds', seeds.map(([, value]) => value).join(', '), null));
  return `<section class="cards">${cards.join('')}</section>`;
}

function card(label: string, value: string, good: boolean | null): string {
  const tone = good === null ? '' : good ? ' good' : ' bad';
  return `<div class="card${tone}"><div class="card-label">${escapeHtml(label)}</div><div class="card-value">${escapeHtml(value)}</div></div>`;
}

function phasesSection(phases: PhaseView[]): string {
  const rows = [...phases]
    .sort((a, b) => a.id - b.id)
    .map((phase) =>
      [
        `<tr class="${phase.passed ? 'pass' : 'fail'}">`,
        `<td class="num">${escapeHtml(phase.id)}</td>`,
        `<td><strong>${escapeHtml(phase.name)}</strong>${phase.summary ? `<div class="muted">${escapeHtml(phase.summary)}</div>` : ''}</td>`,
        `<td>${badge(phase.passed, 'PASS', 'FAIL')}</td>`,
        `<td class="num nowrap">${escapeHtml(formatDuration(phase.durationMs))}</td>`,
        `<td>${numbersList(phase.numbers)}</td>`,
        `<td>${evidenceList(phase.evidence)}</td>`,
        '</tr>',
      ].join(''),
    );
  const body = rows.length > 0 ? rows.join('') : '<tr><td colspan="6" class="muted">No phase ran.</td></tr>';
  return section(
    'Phases',
    `<table class="phases"><thead><tr><th>#</th><th>Phase</th><th>Verdict</th><th>Duration</th><th>Key numbers</th><th>Evidence</th></tr></thead><tbody>${body}</tbody></table>`,
  );
}

function numbersList(numbers: Record<string, number | string>): string {
  const entries = Object.entries(numbers);
  if (entries.length === 0) return '<span class="muted">—</span>';
  return `<dl class="numbers">${entries
    .map(([key, value]) => `<dt>${escapeHtml(key)}</dt><dd>${escapeHtml(typeof value === 'number' ? formatNumber(value) : value)}</dd>`)
    .join('')}</dl>`;
}

function evidenceList(evidence: string[]): string {
  if (evidence.length === 0) return '<span class="muted">no evidence recorded</span>';
  const item = (line: string): string => `<li>${escapeHtml(line)}</li>`;
  const shown = evidence.slice(0, EVIDENCE_SHOWN_MAX).map(item).join('');
  const rest = evidence.slice(EVIDENCE_SHOWN_MAX);
  const more = rest.length > 0 ? `<details><summary>${rest.length} more</summary><ul class="evidence">${rest.map(item).join('')}</ul></details>` : '';
  return `<ul class="evidence">${shown}</ul>${more}`;
}

function count(value: number | undefined): string {
  return value === undefined ? '<span class="muted">—</span>' : escapeHtml(formatNumber(value));
}

function invariantsSection(invariants: InvariantView[]): string {
  const rows = invariants
    .map(
      (invariant) =>
        `<tr class="${invariant.passed ? 'pass' : 'fail'}"><td class="nowrap"><code>${escapeHtml(invariant.id)}</code></td><td>${escapeHtml(invariant.name)}</td>` +
        `<td class="num">${count(invariant.checks)}</td><td class="num">${count(invariant.exercised)}</td><td class="num">${count(invariant.violations)}</td>` +
        `<td>${badge(invariant.passed, invariant.result ?? 'HELD', invariant.result ?? 'VIOLATED')}</td><td>${invariant.detail ? escapeHtml(invariant.detail) : ''}</td></tr>`,
    )
    .join('');
  const body = rows || '<tr><td colspan="7" class="muted">No invariant was checked.</td></tr>';
  const head = '<tr><th>Id</th><th>Invariant</th><th>Checks</th><th>Exercised</th><th>Violations</th><th>Result</th><th>Detail</th></tr>';
  return section('Invariants: checked, exercised, held', `<table class="invariants"><thead>${head}</thead><tbody>${body}</tbody></table>`);
}

function chartsSection(soak: SoakView | undefined, contention: ContentionView[] | undefined): string {
  const figures: string[] = [];
  if (soak && soak.buckets.length > 0)
    figures.push(figure(soakLatencyChart(soak), 'Latency per bucket of soak operations; hover a point for its bucket and simulated day.'));
  if (contention && contention.length > 0)
    figures.push(
      figure(contentionChart(contention), 'Each contention test: how many raced, how many won, how many got a conflict.', contentionTable(contention)),
    );
  if (soak?.tableSizes && soak.tableSizes.length > 0)
    figures.push(figure(tableSizesChart(soak), 'Row counts over the soak: growth should track the bookings made, nothing else.'));
  if (soak?.leftoverHolds && soak.leftoverHolds.length > 0)
    figures.push(figure(leftoverHoldsChart(soak), 'Holds past their TTL and not yet released: a queue building up would show as a rising line.'));
  const body = figures.length > 0 ? figures.join('') : '<p class="muted">No soak or contention data in this report.</p>';
  return section('Charts', body);
}

function soakLatencyChart(soak: SoakView): string {
  const buckets = [...soak.buckets].sort((a, b) => a.opsDone - b.opsDone);
  const first = buckets[0];
  const last = buckets[buckets.length - 1];
  const days = first && last ? ` (simulated day ${first.simulatedDay} → ${last.simulatedDay})` : '';
  const point = (bucket: SoakView['buckets'][number], percentile: 'p50' | 'p95') => {
    const y = percentile === 'p50' ? bucket.p50Ms : bucket.p95Ms;
    return {
      x: bucket.opsDone,
      y,
      label: `bucket ${bucket.index} · day ${bucket.simulatedDay} · ${formatNumber(bucket.opsDone)} ops: ${percentile} ${formatNumber(y)} ms`,
    };
  };
  const series: LineSeries[] = [
    { name: 'p50', points: buckets.map((bucket) => point(bucket, 'p50')) },
    { name: 'p95', points: buckets.map((bucket) => point(bucket, 'p95')), dashed: true },
  ];
  return lineChart({ title: 'Soak latency over time', xLabel: `operations done${days}`, yLabel: 'latency (ms)', series, xInteger: true });
}

function contentionChart(contention: ContentionView[]): string {
  return barChart({
    title: 'Contention: contenders, winners, conflicts',
    yLabel: 'requests',
    categories: contention.map((test) => test.name),
    series: [
      { name: 'contenders', values: contention.map((test) => test.contenders) },
      { name: 'winners', values: contention.map((test) => test.winners) },
      { name: 'conflicts', values: contention.map((test) => test.conflicts) },
    ],
  });
}

function contentionTable(contention: ContentionView[]): string {
  const rows = contention
    .map(
      (test) =>
        `<tr><td>${escapeHtml(test.name)}</td><td class="num">${formatNumber(test.contenders)}</td><td class="num">${formatNumber(test.winners)}</td><td class="num">${formatNumber(test.conflicts)}</td><td class="num">${formatFixed(test.p50Ms, 1)}</td><td class="num">${formatFixed(test.p99Ms, 1)}</td></tr>`,
    )
    .join('');
  return `<table class="contention"><thead><tr><th>Test</th><th>Contenders</th><th>Winners</th><th>Conflicts</th><th>p50 (ms)</th><th>p99 (ms)</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function tableSizesChart(soak: SoakView): string {
  const samples = [...(soak.tableSizes ?? [])].sort((a, b) => a.opsDone - b.opsDone);
  const tables = [...new Set(samples.flatMap((sample) => Object.keys(sample.rows)))];
  const series: LineSeries[] = tables.map((table) => ({
    name: table,
    points: samples.map((sample) => {
      const rows = sample.rows[table] ?? Number.NaN;
      return { x: sample.opsDone, y: rows, label: `${table} at ${formatNumber(sample.opsDone)} ops: ${formatNumber(rows)} rows` };
    }),
  }));
  return lineChart({ title: 'Table sizes over the soak', xLabel: 'operations done', yLabel: 'rows', series, xInteger: true, yInteger: true });
}

function leftoverHoldsChart(soak: SoakView): string {
  const samples = [...(soak.leftoverHolds ?? [])].sort((a, b) => a.opsDone - b.opsDone);
  const points = samples.map((sample) => ({
    x: sample.opsDone,
    y: sample.holds,
    label: `${formatNumber(sample.opsDone)} ops: ${formatNumber(sample.holds)} leftover holds`,
  }));
  return lineChart({
    title: 'Leftover holds over the soak',
    xLabel: 'operations done',
    yLabel: 'expired, unreleased holds',
    series: [{ name: 'leftover holds', points, color: '#D55E00' }],
    xInteger: true,
    yInteger: true,
  });
}

function figure(svg: string, caption: string, after = ''): string {
  return `<figure>${svg}<figcaption>${escapeHtml(caption)}</figcaption>${after}</figure>`;
}

function environmentSection(report: CertificationReportView): string {
  const environment = Object.entries(report.environment);
  const environmentTable =
    environment.length > 0
      ? `<table class="kv"><tbody>${environment.map(([key, value]) => `<tr><th>${escapeHtml(key)}</th><td>${escapeHtml(value)}</td></tr>`).join('')}</tbody></table>`
      : '<p class="muted">No environment recorded.</p>';
  const seeds = seedEntries(report.seeds);
  const seedsTable =
    seeds.length > 0
      ? `<table class="kv"><tbody>${seeds.map(([key, value]) => `<tr><th>${escapeHtml(key)}</th><td><code>${escapeHtml(value)}</code></td></tr>`).join('')}</tbody></table>`
      : '<p class="muted">No seed recorded.</p>';
  const reproduce = report.reproduceCommand ? `<p>Reproduce with <code>${escapeHtml(report.reproduceCommand)}</code></p>` : '';
  return `<div class="two-columns">${section('Environment', environmentTable)}${section('Seeds', seedsTable + reproduce)}</div>`;
}

function footer(report: CertificationReportView): string {
  const parts = ['This page is a reading aid. The signed certification JSON is the record: check it with <code>bookiji certify verify FILE</code>.'];
  if (report.signature?.keyId)
    parts.push(`Signing key id <code>${escapeHtml(report.signature.keyId)}</code> (Ed25519, DSSE envelope over an in-toto Statement).`);
  if (report.signature?.envelopeFile) parts.push(`Envelope: <code>${escapeHtml(report.signature.envelopeFile)}</code>.`);
  return `<footer>${parts.map((part) => `<p>${part}</p>`).join('')}</footer>`;
}

function section(heading: string, body: string): string {
  return `<section><h2>${escapeHtml(heading)}</h2>${body}</section>`;
}

function badge(passed: boolean, yes: string, no: string): string {
  return `<span class="badge ${passed ? 'pass' : 'fail'}">${escapeHtml(passed ? yes : no)}</span>`;
}

function seedEntries(seeds: CertificationReportView['seeds']): Array<[string, string]> {
  if (Array.isArray(seeds)) return seeds.map((seed, index) => [`seed ${index + 1}`, String(seed)]);
  return Object.entries(seeds).map(([key, value]) => [key, String(value)]);
}

function shortHash(hash: string): string {
  return hash.length > 16 ? `${hash.slice(0, 16)}…` : hash;
}

const STYLE = `
:root { --ink:#1b1f24; --muted:#5b6470; --line:#d9dee4; --bg:#f6f7f9; --pass:#1a7f37; --pass-bg:#e6f4ea; --fail:#b42318; --fail-bg:#fdecea; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink); font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; }
code { font-family: ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace; font-size:0.92em; word-break:break-all; }
.banner { padding:28px 40px 24px; color:#fff; }
.banner.pass { background:linear-gradient(135deg,#1a7f37,#2da44e); }
.banner.fail { background:linear-gradient(135deg,#b42318,#d92d20); }
.banner-title { font-size:15px; opacity:0.9; letter-spacing:0.02em; }
.verdict { font-size:40px; font-weight:800; letter-spacing:0.04em; margin:4px 0 8px; }
.facts { opacity:0.95; }
.facts code { background:rgba(255,255,255,0.18); padding:1px 5px; border-radius:4px; }
.reasons { margin:10px 0 0; padding-left:20px; }
.warning { margin:12px 0 0; padding:8px 12px; background:#fff3cd; color:#6b4e00; border-radius:6px; font-weight:600; }
main { max-width:1180px; margin:0 auto; padding:24px 40px 8px; }
section { background:#fff; border:1px solid var(--line); border-radius:10px; padding:18px 22px; margin:0 0 20px; overflow-x:auto; }
h2 { font-size:17px; margin:0 0 12px; }
.cards { display:grid; grid-template-columns:repeat(auto-fit,minmax(180px,1fr)); gap:14px; background:none; border:none; padding:0; }
.card { background:#fff; border:1px solid var(--line); border-radius:10px; padding:14px 18px; }
.card.good { border-left:5px solid var(--pass); }
.card.bad { border-left:5px solid var(--fail); }
.card-label { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:0.05em; }
.card-value { font-size:22px; font-weight:700; margin-top:2px; word-break:break-word; }
table { width:100%; border-collapse:collapse; }
th, td { text-align:left; vertical-align:top; padding:8px 10px; border-bottom:1px solid var(--line); }
thead th { font-size:12px; text-transform:uppercase; letter-spacing:0.04em; color:var(--muted); border-bottom:2px solid var(--line); }
tbody tr:last-child td, tbody tr:last-child th { border-bottom:none; }
tr.fail td { background:var(--fail-bg); }
td.num { text-align:right; font-variant-numeric:tabular-nums; }
.nowrap { white-space:nowrap; }
.muted { color:var(--muted); }
.badge { display:inline-block; padding:2px 9px; border-radius:999px; font-size:12px; font-weight:700; letter-spacing:0.04em; }
.badge.pass { background:var(--pass-bg); color:var(--pass); }
.badge.fail { background:var(--fail); color:#fff; }
dl.numbers { display:grid; grid-template-columns:auto auto; gap:2px 12px; margin:0; }
dl.numbers dt { color:var(--muted); }
dl.numbers dd { margin:0; font-variant-numeric:tabular-nums; font-weight:600; }
ul.evidence { margin:0; padding-left:18px; }
ul.evidence li { margin:0 0 2px; word-break:break-word; }
details summary { cursor:pointer; color:var(--muted); margin-top:4px; }
table.phases td:nth-child(6) { min-width:280px; }
table.kv th { width:40%; font-weight:600; color:var(--muted); }
table.contention { margin-top:10px; }
figure { margin:0 0 24px; }
figure:last-child { margin-bottom:0; }
figcaption { color:var(--muted); font-size:13px; margin-top:4px; }
svg.chart { display:block; max-width:100%; height:auto; }
svg.chart text { font-family:inherit; fill:var(--ink); }
.chart-title { font-size:14px; font-weight:700; }
.chart-tick, .chart-value { font-size:11px; fill:var(--muted) !important; }
.chart-label, .chart-legend text { font-size:12px; }
.chart-empty { font-size:13px; fill:var(--muted) !important; }
.chart-axis { stroke:#8a939e; stroke-width:1; }
.chart-grid { stroke:#eceff2; stroke-width:1; }
.two-columns { display:grid; grid-template-columns:repeat(auto-fit,minmax(340px,1fr)); gap:20px; }
.two-columns > section { margin-bottom:20px; }
footer { max-width:1180px; margin:0 auto; padding:0 40px 32px; color:var(--muted); font-size:13px; }
@media print { body { background:#fff; } .banner { -webkit-print-color-adjust:exact; print-color-adjust:exact; } section { break-inside:avoid; } }
`;
