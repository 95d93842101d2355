import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCertification, type CertificationFiles } from '../../src/certify/output.js';
import { generateKeyPair, loadPrivateKey, type GeneratedKeyPair } from '../../src/certify/signing/index.js';
import type { CertificationReport } from '../../src/certify/types.js';
import { verifyCertification } from '../../src/certify/verify.js';
import { certifyPhases, createCertifyDatabases, type CertifyTestDatabases } from './helpers.js';

let dbs: CertifyTestDatabases;
let report: CertificationReport;
let keys: GeneratedKeyPair;
let otherKeys: GeneratedKeyPair;

beforeAll(async () => {
  dbs = await createCertifyDatabases();
  report = await certifyPhases(dbs, [6], 99);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bookiji-certify-keys-'));
  keys = generateKeyPair(path.join(dir, 'a'));
  otherKeys = generateKeyPair(path.join(dir, 'b'));
}, 180_000);

afterAll(async () => {
  await dbs.drop();
});

function freshFiles(content: CertificationReport = report): CertificationFiles {
  const out = mkdtempSync(path.join(os.tmpdir(), 'bookiji-certify-out-'));
  return writeCertification(content, out, loadPrivateKey(keys.privateKeyPath), keys.publicKeyPath);
}

function flipByte(file: string, index: number): void {
  const bytes = readFileSync(file);
  bytes[index] = bytes[index]! ^ 0x01;
  writeFileSync(file, bytes);
}

describe('signed certification files', () => {
  it('verifies an untouched certification as authentic, with its verdict', () => {
    // Proves: the envelope, report and meta written together verify with the public key.
    const files = freshFiles();
    const outcome = verifyCertification(files.envelope, keys.publicKeyPath);
    expect(outcome.problems).toEqual([]);
    expect(outcome.authentic).toBe(true);
    expect(outcome.verdict).toBe('NOT CERTIFIED');
    expect(outcome.certified).toBe(false);
    expect(verifyCertification(files.report, keys.publicKeyPath).authentic).toBe(true);
    const meta = JSON.parse(readFileSync(files.meta, 'utf8'));
    expect(meta.subjects.map((s: { name: string }) => s.name)).toContain('schema');
    expect(readFileSync(files.html, 'utf8')).toContain('NOT CERTIFIED');
  });

  it('refuses the envelope when any one byte of it changes', () => {
    // Proves: flipping one bit anywhere in the envelope (payload, signature, or framing) makes verification fail.
    const length = readFileSync(freshFiles().envelope).length;
    for (const index of [0, 15, Math.floor(length / 3), Math.floor(length / 2), length - 40, length - 3]) {
      const files = freshFiles();
      flipByte(files.envelope, index);
      expect(verifyCertification(files.envelope, keys.publicKeyPath).authentic, `byte ${index}`).toBe(false);
    }
  });

  it('refuses a report file changed by one byte', () => {
    // Proves: the report beside the envelope must be exactly the signed one.
    const files = freshFiles();
    const text = readFileSync(files.report, 'utf8');
    writeFileSync(files.report, text.replace('"NOT CERTIFIED"', '"NOT CERTIFIEE"'));
    const outcome = verifyCertification(files.envelope, keys.publicKeyPath);
    expect(outcome.authentic).toBe(false);
    expect(outcome.problems.join(' ')).toMatch(/report file .* differs from the signed report/);
  });

  it('refuses a certification checked with another key', () => {
    // Proves: only the signer's public key verifies it.
    const files = freshFiles();
    expect(verifyCertification(files.envelope, otherKeys.publicKeyPath).authentic).toBe(false);
  });

  it('refuses a signed verdict that does not follow from its phases', () => {
    // Proves: even a validly signed report that claims CERTIFIED with failing phases is refused.
    const forged: CertificationReport = { ...report, verdict: 'CERTIFIED', reasons: [] };
    const files = freshFiles(forged);
    const outcome = verifyCertification(files.envelope, keys.publicKeyPath);
    expect(outcome.authentic).toBe(false);
    expect(outcome.problems.join(' ')).toMatch(/verdict CERTIFIED does not follow/);
  });

  it('refuses a signed invariant row whose result does not follow from its counts', () => {
    // Proves: a report calling an invariant HELD that no run exercised (exercised 0) is refused, signature or not.
    const forged: CertificationReport = {
      ...report,
      invariants: report.invariants.map((row) => (row.id === 'I8' ? { ...row, checks: 40, exercised: 0, violations: 0, result: 'HELD' } : row)),
    };
    const outcome = verifyCertification(freshFiles(forged).envelope, keys.publicKeyPath);
    expect(outcome.authentic).toBe(false);
    expect(outcome.problems.join(' ')).toMatch(/I8 says HELD, counts give NOT EXERCISED/);
  });
});
