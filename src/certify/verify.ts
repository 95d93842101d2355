// `bookiji certify verify FILE`: is this certification authentic and whole?
//
// Accepts the envelope (`….dsse.json`) or the report (`….json`, with the
// envelope beside it). Checks, in order: the envelope is byte-for-byte in
// the form the certifier writes (so even a harmless-looking edit such as a
// space is refused), its Ed25519 signature over the DSSE PAE verifies with
// the given public key, the payload is an in-toto Statement of our predicate
// type whose subjects are the report's commit and schema digest, the verdict
// follows from the phases (CERTIFIED only with seven PASS), and the report
// file and the meta file beside it match the signed payload exactly.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { CERTIFICATION_PREDICATE_TYPE, loadPublicKey, serializeEnvelope, verifyEnvelope, type DsseEnvelope } from './signing/index.js';
import { serializeReport, subjectsOf } from './output.js';
import { INVARIANT_IDS } from '../simcity/scenarioFile.js';
import { invariantOutcome } from './invariants.js';
import { mutationScoreProblem, type MutationScore } from './signing/statement.js';
import { PHASE_IDS, type CertificationReport } from './types.js';

export interface CertificationVerification {
  /** Signature, shape and every cross-check hold. */
  authentic: boolean;
  /** Authentic and the verdict is CERTIFIED. */
  certified: boolean;
  verdict: string | null;
  keyId: string | null;
  envelopeFile: string;
  reportFile: string | null;
  problems: string[];
  checked: string[];
  /** The signed mutation score, when the certification ran with --mutants. */
  mutationScore: MutationScore | null;
}

function siblings(file: string): { envelope: string; report: string; meta: string } {
  const base = file.endsWith('.dsse.json')
    ? file.slice(0, -'.dsse.json'.length)
    : file.endsWith('.meta.json')
      ? file.slice(0, -'.meta.json'.length)
      : file.replace(/\.json$/, '');
  return { envelope: `${base}.dsse.json`, report: `${base}.json`, meta: `${base}.meta.json` };
}

function sha256(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The verdict must follow from the signed phases, invariants and database checks. */
function checkVerdict(report: CertificationReport, problems: string[], checked: string[]): void {
  const allPassed =
    PHASE_IDS.every((id) => report.phases.find((p) => p.id === id)?.status === 'PASS') &&
    report.phases.every((p) => p.status !== 'PASS' || (p.checks.length > 0 && p.checks.every((c) => c.passed)));
  const databaseClean = Array.isArray(report.databaseChecks) && report.databaseChecks.every((i) => i.violations === 0);
  const invariants = Array.isArray(report.invariants) ? report.invariants : [];
  const misjudged = invariants.filter((i) => i.result !== invariantOutcome(i));
  if (misjudged.length > 0)
    problems.push(
      `invariant result(s) do not follow from their counts: ${misjudged.map((i) => `${i.id} says ${i.result}, counts give ${invariantOutcome(i)}`).join('; ')}`,
    );
  const missing = INVARIANT_IDS.filter((id) => !invariants.some((i) => i.id === id));
  if (missing.length > 0) problems.push(`the invariants table leaves out ${missing.join(', ')}`);
  const invariantsHeld = invariants.length > 0 && missing.length === 0 && invariants.every((i) => i.result === 'HELD' && invariantOutcome(i) === 'HELD');
  const expectedVerdict = allPassed && databaseClean && invariantsHeld ? 'CERTIFIED' : 'NOT CERTIFIED';
  if (report.verdict !== expectedVerdict)
    problems.push(`verdict ${report.verdict} does not follow from the phases and invariants (they give ${expectedVerdict})`);
  else
    checked.push(
      `verdict ${report.verdict} follows from ${report.phases.length} phases, ${invariants.length} invariants (checked, exercised, held) and ${report.databaseChecks?.length ?? 0} database checks`,
    );
}

/** The report and meta files beside the envelope must match what was signed; answers the report file, if any. */
function checkFilesBeside(
  file: string,
  paths: ReturnType<typeof siblings>,
  report: CertificationReport,
  envelopeBytes: Buffer,
  problems: string[],
  checked: string[],
): string | null {
  let reportFile: string | null = null;
  if (existsSync(paths.report)) {
    reportFile = paths.report;
    if (readFileSync(paths.report, 'utf8') !== serializeReport(report)) problems.push(`report file ${paths.report} differs from the signed report`);
    else checked.push('report file is exactly the signed report');
  } else if (file === paths.report) {
    problems.push(`no report at ${paths.report}`);
  }
  if (existsSync(paths.meta)) {
    try {
      const meta = JSON.parse(readFileSync(paths.meta, 'utf8')) as { verdict?: string; files?: Record<string, { path: string; sha256: string }> };
      if (meta.verdict !== report.verdict) problems.push(`meta file says ${String(meta.verdict)}, the signed report ${report.verdict}`);
      const envelopeDigest = meta.files?.envelope?.sha256;
      if (envelopeDigest !== sha256(envelopeBytes)) problems.push('meta file: the envelope digest does not match the envelope');
      if (reportFile && meta.files?.report?.sha256 !== sha256(readFileSync(reportFile)))
        problems.push('meta file: the report digest does not match the report');
      if (problems.length === 0) checked.push('meta file digests match');
    } catch (error) {
      problems.push(`meta file ${paths.meta} is not JSON (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  return reportFile;
}

export function verifyCertification(file: string, publicKeyPath: string): CertificationVerification {
  const paths = siblings(file);
  const problems: string[] = [];
  const checked: string[] = [];
  let mutationScore: MutationScore | null = null;
  const result = (keyId: string | null, verdict: string | null, reportFile: string | null): CertificationVerification => ({
    authentic: problems.length === 0,
    certified: problems.length === 0 && verdict === 'CERTIFIED',
    verdict,
    keyId,
    envelopeFile: paths.envelope,
    reportFile,
    problems,
    checked,
    mutationScore,
  });

  const publicKey = loadPublicKey(publicKeyPath);
  if (!existsSync(paths.envelope)) {
    problems.push(`no signed envelope at ${paths.envelope}`);
    return result(null, null, null);
  }
  const envelopeBytes = readFileSync(paths.envelope);
  const verified = verifyEnvelope(envelopeBytes, publicKey);
  if (!verified.ok) {
    problems.push(`signature: ${verified.reason}`);
    return result(null, null, null);
  }
  checked.push(`Ed25519 signature over the DSSE PAE verifies with key ${verified.keyid}`);
  const canonical = serializeEnvelope(JSON.parse(envelopeBytes.toString('utf8')) as DsseEnvelope);
  if (canonical !== envelopeBytes.toString('utf8')) problems.push('envelope file: not byte-for-byte the form the certifier writes (it was edited)');
  else checked.push('envelope file is byte-for-byte as written');

  const statement = verified.statement;
  if (statement.predicateType !== CERTIFICATION_PREDICATE_TYPE)
    problems.push(`statement predicateType is ${statement.predicateType}, expected ${CERTIFICATION_PREDICATE_TYPE}`);
  const report = statement.predicate as unknown as CertificationReport;
  if (report.certification !== 'scheduling-certification-v1' || !Array.isArray(report.phases) || !report.environment) {
    problems.push('predicate is not a scheduling-certification-v1 report');
    return result(verified.keyid, null, null);
  }
  const expectedSubjects = JSON.stringify(subjectsOf(report));
  if (JSON.stringify(statement.subject) !== expectedSubjects)
    problems.push(`statement subjects ${JSON.stringify(statement.subject)} do not name the report's commit and schema digest ${expectedSubjects}`);
  else checked.push(`subjects: ${statement.subject.map((s) => `${s.name} ${Object.values(s.digest)[0]}`).join(', ')}`);

  checkVerdict(report, problems, checked);

  const signedScore = (report as { mutants?: unknown }).mutants;
  if (signedScore !== undefined) {
    const problem = mutationScoreProblem(signedScore);
    if (problem) problems.push(problem);
    else {
      mutationScore = signedScore as MutationScore;
      checked.push(describeMutationScore(mutationScore));
    }
  }

  const reportFile = checkFilesBeside(file, paths, report, envelopeBytes, problems, checked);
  return result(verified.keyid, report.verdict, reportFile);
}

/** One line: the signed score, its catalogue, and who survived. */
export function describeMutationScore(m: MutationScore): string {
  const survivors = m.survivors.length ? `; survivors: ${m.survivors.join(', ')}` : '';
  const errors = m.errors.length ? `; could not run: ${m.errors.join(', ')}` : '';
  const equivalent = m.equivalent.length ? `; ${m.equivalent.length} equivalent, not counted` : '';
  return `mutation score (signed): ${m.killed}/${m.total} engine mutants killed (${m.score}%), ${m.profile} profile, catalogue ${m.catalogueDigest.slice(0, 16)}… of ${m.catalogueSize} mutants${equivalent}${survivors}${errors}`;
}
