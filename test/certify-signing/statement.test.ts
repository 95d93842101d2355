import { describe, expect, it } from 'vitest';
import { BookijiError } from '../../src/errors.js';
import { buildStatement, CERTIFICATION_PREDICATE_TYPE, gitCommitSubject, parseStatement, schemaSubject } from '../../src/certify/signing/index.js';

const COMMIT = '5947474c397140f1793b52727aafcd77a5221c03';
const SCHEMA = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';

describe('buildStatement', () => {
  it('produces an in-toto Statement v1 with the commit and schema as subjects', () => {
    const statement = buildStatement({
      subjects: [gitCommitSubject(COMMIT), schemaSubject(SCHEMA)],
      predicateType: CERTIFICATION_PREDICATE_TYPE,
      predicate: { verdict: 'CERTIFIED' },
    });
    expect(statement).toEqual({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [
        { name: 'git+commit', digest: { gitCommit: COMMIT } },
        { name: 'schema', digest: { sha256: SCHEMA } },
      ],
      predicateType: 'https://bookiji.dev/certification/v1',
      predicate: { verdict: 'CERTIFIED' },
    });
    // Key order is part of the signed bytes; keep it the one in the spec.
    expect(Object.keys(statement)).toEqual(['_type', 'subject', 'predicateType', 'predicate']);
    expect(parseStatement(JSON.parse(JSON.stringify(statement)))).toEqual({ ok: true, statement });
  });

  it('copies the subjects, so a later edit of the input does not change the statement', () => {
    const subjects = [gitCommitSubject(COMMIT)];
    const statement = buildStatement({ subjects, predicateType: CERTIFICATION_PREDICATE_TYPE, predicate: {} });
    subjects[0]!.digest.gitCommit = 'f'.repeat(40);
    expect(statement.subject[0]!.digest.gitCommit).toBe(COMMIT);
  });

  it.each([
    ['no subjects', { subjects: [] }, /subjects: must be a non-empty array/],
    ['an empty subject name', { subjects: [{ name: '', digest: { sha256: SCHEMA } }] }, /subjects\[0\]\.name/],
    ['an empty digest', { subjects: [{ name: 'schema', digest: {} }] }, /subjects\[0\]\.digest/],
    ['an uppercase digest', { subjects: [schemaSubject(SCHEMA.toUpperCase())] }, /lowercase hex/],
    ['a short sha256', { subjects: [schemaSubject('abc')] }, /64 hex characters, got 3/],
    ['a short commit', { subjects: [gitCommitSubject('5947474')] }, /40 or 64 hex characters/],
    ['a relative predicate type', { predicateType: 'certification/v1' }, /absolute URI/],
    ['an array predicate', { predicate: [] }, /predicate: must be a JSON object/],
  ])('rejects %s with a VALIDATION_ERROR naming the field', (_label, override, message) => {
    const input = { subjects: [gitCommitSubject(COMMIT)], predicateType: CERTIFICATION_PREDICATE_TYPE, predicate: {}, ...override };
    let thrown: unknown;
    try {
      buildStatement(input as Parameters<typeof buildStatement>[0]);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(BookijiError);
    expect((thrown as BookijiError).code).toBe('VALIDATION_ERROR');
    expect((thrown as BookijiError).message).toMatch(message);
  });
});

describe('parseStatement', () => {
  it.each([
    [null, /not a JSON object/],
    [[], /not a JSON object/],
    [{ _type: 'https://in-toto.io/Statement/v0.1', subject: [], predicateType: 'x:y', predicate: {} }, /_type/],
    [{ _type: 'https://in-toto.io/Statement/v1', subject: [], predicateType: 'x:y', predicate: {} }, /subject/],
    [{ _type: 'https://in-toto.io/Statement/v1', subject: [gitCommitSubject(COMMIT)], predicateType: 3, predicate: {} }, /predicateType/],
    [{ _type: 'https://in-toto.io/Statement/v1', subject: [gitCommitSubject(COMMIT)], predicateType: 'x:y', predicate: 'no' }, /predicate/],
  ])('gives a reason for a value that is not a Statement v1 (%#)', (value, reason) => {
    const result = parseStatement(value);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });
});
