// OpenSSL as an independent checker of our DSSE signatures, key files and key
// ids: if our PAE or key encoding drifted from the standards, a second
// implementation would disagree. `openssl pkeyutl -rawin` (OpenSSL 3) signs and
// verifies Ed25519 over the whole message, which is what DSSE needs.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generateKeyPair,
  IN_TOTO_PAYLOAD_TYPE,
  keyIdFor,
  loadPrivateKey,
  loadPublicKey,
  pae,
  signStatement,
  verifyEnvelope,
  type GeneratedKeyPair,
} from '../../src/certify/signing/index.js';
import { sampleStatement } from './fixtures/statement.js';

let dir: string;
let keys: GeneratedKeyPair;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bookiji-openssl-'));
  keys = generateKeyPair(join(dir, 'keys'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function opensslVerify(publicKeyPath: string, message: Buffer, signature: Buffer): { ok: boolean; output: string } {
  const messagePath = join(dir, 'message.bin');
  const signaturePath = join(dir, 'signature.bin');
  writeFileSync(messagePath, message);
  writeFileSync(signaturePath, signature);
  const run = spawnSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', publicKeyPath, '-rawin', '-in', messagePath, '-sigfile', signaturePath], {
    encoding: 'utf8',
  });
  if (run.error) throw run.error;
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

describe('openssl as an independent checker', () => {
  it('verifies our envelope signature over the PAE, and rejects it over anything else', () => {
    const envelope = signStatement(sampleStatement(), loadPrivateKey(keys.privateKeyPath), keys.keyId);
    const payload = Buffer.from(envelope.payload, 'base64');
    const signature = Buffer.from(envelope.signatures[0]!.sig, 'base64');

    const good = opensslVerify(keys.publicKeyPath, pae(envelope.payloadType, payload), signature);
    expect(good.output).toMatch(/Signature Verified Successfully/);
    expect(good.ok).toBe(true);

    // Not over the raw payload, not over a PAE with one byte changed.
    expect(opensslVerify(keys.publicKeyPath, payload, signature).ok).toBe(false);
    const tampered = pae(envelope.payloadType, payload);
    tampered[tampered.length - 2]! ^= 1;
    expect(opensslVerify(keys.publicKeyPath, tampered, signature).ok).toBe(false);
  });

  it('signs a PAE with our private key file that our verifier accepts', () => {
    const payload = Buffer.from(JSON.stringify(sampleStatement()), 'utf8');
    const messagePath = join(dir, 'pae.bin');
    writeFileSync(messagePath, pae(IN_TOTO_PAYLOAD_TYPE, payload));
    const signature = execFileSync('openssl', ['pkeyutl', '-sign', '-inkey', keys.privateKeyPath, '-rawin', '-in', messagePath]);
    expect(signature).toHaveLength(64);
    const envelope = {
      payloadType: IN_TOTO_PAYLOAD_TYPE,
      payload: payload.toString('base64'),
      signatures: [{ keyid: keys.keyId, sig: signature.toString('base64') }],
    };
    expect(verifyEnvelope(envelope, loadPublicKey(keys.publicKeyPath)).ok).toBe(true);
  });

  it('computes the same key id from the public key DER', () => {
    const der = execFileSync('openssl', ['pkey', '-pubin', '-in', keys.publicKeyPath, '-outform', 'DER']);
    const digest = execFileSync('openssl', ['dgst', '-sha256', '-binary'], { input: der });
    expect(digest.subarray(0, 16).toString('hex')).toBe(keys.keyId);
  });

  it('makes keys our loaders accept, and reads the private key we wrote', () => {
    const privatePath = join(dir, 'openssl.key');
    const publicPath = join(dir, 'openssl.pub');
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', privatePath]);
    execFileSync('openssl', ['pkey', '-in', privatePath, '-pubout', '-out', publicPath]);
    expect(keyIdFor(loadPrivateKey(privatePath))).toBe(keyIdFor(loadPublicKey(publicPath)));
    // openssl derives the same public key from our private key file.
    const derived = execFileSync('openssl', ['pkey', '-in', keys.privateKeyPath, '-pubout'], { encoding: 'utf8' });
    expect(derived).toBe(readFileSync(keys.publicKeyPath, 'utf8'));
  });
});
