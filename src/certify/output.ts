// Writing a certification: the report JSON, the signed DSSE envelope of an
// in-toto Statement whose predicate is that report, the meta file (what was
// written, with digests, and how to verify), and the HTML page.
//
// Every file is written exactly as the verifier will re-derive it (the report
// as `JSON.stringify(report, null, 2)` plus a newline, the envelope compact),
// so one changed byte anywhere is detectable.

import { createHash, type KeyObject } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderCertificationHtml, type CertificationReportView } from './html/index.js';
import {
  buildStatement,
  CERTIFICATION_PREDICATE_TYPE,
  gitCommitSubject,
  keyIdFor,
  schemaSubject,
  serializeEnvelope,
  signStatement,
  type StatementSubject,
} from './signing/index.js';
import type { CertificationReport } from './types.js';

export const REPORT_BASENAME = 'scheduling-certification-v1';

export interface CertificationFiles {
  report: string;
  envelope: string;
  meta: string;
  html: string;
}

export function filesIn(dir: string): CertificationFiles {
  return {
    report: path.join(dir, `${REPORT_BASENAME}.json`),
    envelope: path.join(dir, `${REPORT_BASENAME}.dsse.json`),
    meta: path.join(dir, `${REPORT_BASENAME}.meta.json`),
    html: path.join(dir, `${REPORT_BASENAME}.html`),
  };
}

/** The report file's exact bytes. */
export function serializeReport(report: CertificationReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

const GIT_COMMIT = /^([0-9a-f]{40}|[0-9a-f]{64})$/;

/** What the certification is about: the commit (when known) and the applied schema. */
export function subjectsOf(report: CertificationReport): StatementSubject[] {
  const subjects = [schemaSubject(report.environment.schemaDigest)];
  if (GIT_COMMIT.test(report.environment.gitCommit)) subjects.unshift(gitCommitSubject(report.environment.gitCommit));
  return subjects;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function toView(report: CertificationReport, keyId: string, envelopeFile: string): CertificationReportView {
  const contention = report.phases.flatMap((p) =>
    ((p.series?.contention as Array<Record<string, unknown>> | undefined) ?? []).map((r) => ({
      name: String(r.name),
      contenders: Number(r.contenders),
      winners: Number(r.winners),
      conflicts: Number(r.conflicts),
      p50Ms: Number(r.p50Ms),
      p99Ms: Number(r.p99Ms),
    })),
  );
  const soak = report.phases.find((p) => p.series?.soak)?.series?.soak as CertificationReportView['soak'] | undefined;
  return {
    verdict: report.verdict,
    title: 'Bookiji scheduling certification v1',
    generatedAt: report.finishedAt,
    subject: { gitCommit: report.environment.gitCommit, schemaSha256: report.environment.schemaDigest },
    signature: { keyId, envelopeFile },
    reasons: report.reasons,
    reproduceCommand: report.reproduceCommand,
    environment: {
      'git commit': `${report.environment.gitCommit}${report.environment.gitDirty ? ' (working tree had changes)' : ''}`,
      'schema digest': report.environment.schemaDigest,
      migrations: report.environment.migrations.map((m) => String(m.version).padStart(4, '0')).join(', '),
      PostgreSQL: report.environment.postgresVersion,
      tool: report.environment.toolVersion,
      node: report.environment.node,
      platform: `${report.environment.platform}, ${report.environment.cpus} CPUs`,
      profile: report.profile,
    },
    seeds: { master: report.seeds.master, ...Object.fromEntries(Object.entries(report.seeds.phases).map(([k, v]) => [`phase ${k}`, v])) },
    phases: report.phases.map((p) => ({
      id: p.id,
      name: p.name,
      passed: p.status === 'PASS',
      durationMs: p.durationMs,
      evidence: p.checks.map((c) => `${c.passed ? 'PASS' : 'FAIL'} — ${c.name}: ${c.detail}`),
      numbers: p.numbers,
      summary: p.status === 'PASS' ? p.summary : `${p.status}: ${p.summary}`,
    })),
    invariants: mergeInvariants(report),
    ...(soak ? { soak } : {}),
    ...(contention.length ? { contention } : {}),
  };
}

function mergeInvariants(report: CertificationReport): CertificationReportView['invariants'] {
  return report.invariants.map((row) => {
    const onDatabases = report.databaseChecks
      .filter((check) => check.id === row.id && check.violations > 0)
      .map((check) => `${check.violations} on the ${check.database} database`);
    const detail = [row.scenarios.length > 0 ? `scenarios ${row.scenarios.join(', ')}` : 'no scenario checks it', ...onDatabases].join('; ');
    return {
      id: row.id,
      name: row.description,
      passed: row.result === 'HELD',
      result: row.result,
      checks: row.checks,
      exercised: row.exercised,
      violations: row.violations,
      detail,
    };
  });
}

/** Writes the four files and returns their paths. */
export function writeCertification(report: CertificationReport, outDir: string, privateKey: KeyObject, publicKeyPath: string): CertificationFiles {
  mkdirSync(outDir, { recursive: true });
  const files = filesIn(outDir);
  const keyId = keyIdFor(privateKey);
  const reportText = serializeReport(report);
  const statement = buildStatement({ subjects: subjectsOf(report), predicateType: CERTIFICATION_PREDICATE_TYPE, predicate: report });
  const envelopeText = serializeEnvelope(signStatement(statement, privateKey, keyId));
  const html = renderCertificationHtml(toView(report, keyId, path.basename(files.envelope)));
  writeFileSync(files.report, reportText);
  writeFileSync(files.envelope, envelopeText);
  writeFileSync(files.html, html);
  const meta = {
    certification: report.certification,
    verdict: report.verdict,
    generatedAt: report.finishedAt,
    profile: report.profile,
    seed: report.seeds.master,
    subjects: statement.subject,
    signature: {
      algorithm: 'Ed25519',
      keyId,
      envelope: 'DSSE v1',
      payloadType: 'application/vnd.in-toto+json',
      predicateType: CERTIFICATION_PREDICATE_TYPE,
      publicKey: publicKeyPath,
    },
    files: {
      report: { path: path.basename(files.report), sha256: sha256(reportText) },
      envelope: { path: path.basename(files.envelope), sha256: sha256(envelopeText) },
      html: { path: path.basename(files.html), sha256: sha256(html) },
    },
    verify: [
      `bookiji certify verify ${files.envelope} --key ${publicKeyPath}`,
      `cosign verify-blob-attestation --key ${publicKeyPath} --type ${CERTIFICATION_PREDICATE_TYPE} --signature ${files.envelope} --check-claims=false ${files.report}`,
    ],
    reproduceCommand: report.reproduceCommand,
  };
  writeFileSync(files.meta, `${JSON.stringify(meta, null, 2)}\n`);
  return files;
}
