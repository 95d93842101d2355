// The in-toto Statement v1 that a certification signs.
//
// A Statement binds a predicate (what we claim: the certification report) to
// subjects (what the claim is about: the git commit that was certified and
// the digest of the database schema it ran on). See
// https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md.

import { BookijiError, validationError } from '../../errors.js';

export const IN_TOTO_STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const CERTIFICATION_PREDICATE_TYPE = 'https://bookiji.dev/certification/v1';

/** An in-toto ResourceDescriptor reduced to what we use: a name and a DigestSet. */
export interface StatementSubject {
  name: string;
  /** Algorithm name → lowercase hex digest, e.g. `{ sha256: '…' }` or `{ gitCommit: '…' }`. */
  digest: Record<string, string>;
}

export interface Statement<P extends object = Record<string, unknown>> {
  _type: typeof IN_TOTO_STATEMENT_TYPE;
  subject: StatementSubject[];
  predicateType: string;
  predicate: P;
}

// Hex lengths of the digest algorithms we know; others only need to be hex.
// gitCommit is 40 (SHA-1) or 64 (SHA-256 repositories).
const DIGEST_HEX_LENGTHS: Record<string, readonly number[]> = {
  sha256: [64],
  sha512: [128],
  sha1: [40],
  gitCommit: [40, 64],
};

const HEX = /^[0-9a-f]+$/;

export function gitCommitSubject(commit: string): StatementSubject {
  return { name: 'git+commit', digest: { gitCommit: commit } };
}

export function schemaSubject(sha256Hex: string): StatementSubject {
  return { name: 'schema', digest: { sha256: sha256Hex } };
}

/**
 * Builds a Statement, checking every field: a certification signed over a
 * malformed subject would verify and still prove nothing.
 */
export function buildStatement<P extends object>(input: { subjects: StatementSubject[]; predicateType: string; predicate: P }): Statement<P> {
  const subjects = checkSubjects(input.subjects, 'subjects');
  if (subjects instanceof BookijiError) throw subjects;
  const predicateTypeProblem = checkPredicateType(input.predicateType);
  if (predicateTypeProblem) throw validationError('predicateType', predicateTypeProblem);
  if (!isPlainObject(input.predicate)) throw validationError('predicate', 'must be a JSON object');
  return {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject: subjects,
    predicateType: input.predicateType,
    predicate: input.predicate,
  };
}

/**
 * Checks a parsed JSON value is a Statement v1; used by the verifier on the
 * signed payload. Returns the statement, or the reason it is not one.
 */
export function parseStatement(value: unknown): { ok: true; statement: Statement } | { ok: false; reason: string } {
  if (!isPlainObject(value)) return { ok: false, reason: 'statement is not a JSON object' };
  if (value._type !== IN_TOTO_STATEMENT_TYPE) {
    return { ok: false, reason: `statement _type is ${JSON.stringify(value._type)}, expected ${JSON.stringify(IN_TOTO_STATEMENT_TYPE)}` };
  }
  const subjects = checkSubjects(value.subject, 'statement subject');
  if (subjects instanceof BookijiError) return { ok: false, reason: subjects.message };
  const predicateTypeProblem = checkPredicateType(value.predicateType);
  if (predicateTypeProblem) return { ok: false, reason: `statement predicateType ${predicateTypeProblem}` };
  if (!isPlainObject(value.predicate)) return { ok: false, reason: 'statement predicate is not a JSON object' };
  return { ok: true, statement: value as unknown as Statement };
}

function checkSubjects(value: unknown, field: string): StatementSubject[] | BookijiError {
  if (!Array.isArray(value) || value.length === 0) return validationError(field, 'must be a non-empty array');
  const copies: StatementSubject[] = [];
  for (const [index, subject] of value.entries()) {
    const at = `${field}[${index}]`;
    if (!isPlainObject(subject)) return validationError(at, 'must be an object with name and digest');
    if (typeof subject.name !== 'string' || subject.name.length === 0) return validationError(`${at}.name`, 'must be a non-empty string');
    if (!isPlainObject(subject.digest) || Object.keys(subject.digest).length === 0) {
      return validationError(`${at}.digest`, 'must be a non-empty object of algorithm → hex digest');
    }
    const digest: Record<string, string> = {};
    for (const [algorithm, hex] of Object.entries(subject.digest)) {
      if (typeof hex !== 'string' || !HEX.test(hex)) return validationError(`${at}.digest.${algorithm}`, 'must be a lowercase hex string');
      const lengths = DIGEST_HEX_LENGTHS[algorithm];
      if (lengths && !lengths.includes(hex.length)) {
        return validationError(`${at}.digest.${algorithm}`, `must be ${lengths.join(' or ')} hex characters, got ${hex.length}`);
      }
      digest[algorithm] = hex;
    }
    copies.push({ name: subject.name, digest });
  }
  return copies;
}

function checkPredicateType(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0) return 'must be a non-empty string';
  // in-toto asks for a TypeURI; we only insist it looks like an absolute URI.
  if (!/^[a-z][a-z0-9+.-]*:\S+$/i.test(value)) return `must be an absolute URI, got ${JSON.stringify(value)}`;
  return null;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The mutation score a certification run with `--mutants` signs into its
 * predicate (the report's `mutants` field): how many of the catalogue's
 * non-equivalent engine mutants the certifier killed, and the digest of the
 * catalogue it was measured against.
 */
export interface MutationScore {
  total: number;
  killed: number;
  /** killed / total in percent, one decimal. */
  score: number;
  catalogueDigest: string;
  catalogueSize: number;
  profile: string;
  survivors: string[];
  equivalent: string[];
  errors: string[];
}

/** Why a signed mutation score is not self-consistent, or null. */
export function mutationScoreProblem(value: unknown): string | null {
  if (!isPlainObject(value)) return 'mutation score is not an object';
  const { total, killed, score, catalogueDigest, survivors, equivalent, errors } = value as Record<string, unknown>;
  if (!Number.isInteger(total) || !Number.isInteger(killed) || (killed as number) < 0 || (killed as number) > (total as number))
    return `mutation score: killed ${String(killed)} of total ${String(total)} is not a count`;
  const expected = (total as number) === 0 ? 0 : Math.round(((killed as number) / (total as number)) * 1000) / 10;
  if (score !== expected) return `mutation score: ${String(score)}% does not follow from ${String(killed)}/${String(total)} (${expected}%)`;
  if (typeof catalogueDigest !== 'string' || !/^[0-9a-f]{64}$/.test(catalogueDigest)) return 'mutation score: the catalogue digest is not a SHA-256';
  if (![survivors, equivalent, errors].every((list) => Array.isArray(list) && list.every((id) => typeof id === 'string')))
    return 'mutation score: survivors, equivalent and errors must list mutant ids';
  if ((survivors as string[]).length + (errors as string[]).length !== (total as number) - (killed as number))
    return 'mutation score: every mutant not killed must be named as a survivor or an error';
  return null;
}
