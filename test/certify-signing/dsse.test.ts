import { generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generateKeyPair,
  IN_TOTO_PAYLOAD_TYPE,
  keyIdFor,
  loadPrivateKey,
  loadPublicKey,
  pae,
  serializeEnvelope,
  signEnvelope,
  signStatement,
  verifyEnvelope,
  type DsseEnvelope,
} from '../../src/certify/signing/index.js';
import { signPaeWithCharLengths, signRawPayload } from './fixtures/broken-signers.js';
import { sampleStatement } from './fixtures/statement.js';

let dir: string;
let privateKey: KeyObject;
let publicKey: KeyObject;
let keyId: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bookiji-dsse-'));
  const keys = generateKeyPair(dir);
  privateKey = loadPrivateKey(keys.privateKeyPath);
  publicKey = loadPublicKey(keys.publicKeyPath);
  keyId = keys.keyId;
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function otherKeyPair(): { privateKey: KeyObject; publicKey: KeyObject; keyId: string } {
  const pair = generateKeyPairSync('ed25519');
  return { ...pair, keyId: keyIdFor(pair.publicKey) };
}

function expectRejected(input: unknown, key: KeyObject = publicKey, reason?: RegExp): void {
  const result = verifyEnvelope(input, key);
  expect(result.ok).toBe(false);
  if (!result.ok && reason) expect(result.reason).toMatch(reason);
}

describe('pae', () => {
  it('matches the DSSE encoding of a known vector, built here by hand', () => {
    // "http://example.com/HelloWorld" is 29 bytes, "hello world" is 11.
    const expected = Buffer.from('DSSEv1 29 http://example.com/HelloWorld 11 hello world', 'ascii');
    expect(pae('http://example.com/HelloWorld', Buffer.from('hello world'))).toEqual(expected);
    expect(pae('http://example.com/HelloWorld', 'hello world')).toEqual(expected);
  });

  it('counts bytes, not characters, and encodes an empty body', () => {
    // "é" is one character but two UTF-8 bytes (0xc3 0xa9); "→" is three.
    expect(pae('t', 'é')).toEqual(Buffer.from([...Buffer.from('DSSEv1 1 t 2 '), 0xc3, 0xa9]));
    expect(pae('→', '')).toEqual(Buffer.from('DSSEv1 3 → 0 ', 'utf8'));
    expect(pae(IN_TOTO_PAYLOAD_TYPE, Buffer.alloc(0)).toString()).toBe('DSSEv1 28 application/vnd.in-toto+json 0 ');
  });
});

describe('signEnvelope / verifyEnvelope', () => {
  it('verifies what it signs, returning the statement', () => {
    const statement = sampleStatement();
    const envelope = signStatement(statement, privateKey, keyId);
    expect(envelope.payloadType).toBe('application/vnd.in-toto+json');
    expect(envelope.signatures).toHaveLength(1);
    expect(envelope.signatures[0]!.keyid).toBe(keyId);
    expect(Buffer.from(envelope.signatures[0]!.sig, 'base64')).toHaveLength(64);
    // The signature is over the PAE, checked with node:crypto directly.
    const payload = Buffer.from(envelope.payload, 'base64');
    expect(verify(null, pae(envelope.payloadType, payload), publicKey, Buffer.from(envelope.signatures[0]!.sig, 'base64'))).toBe(true);

    const result = verifyEnvelope(envelope, publicKey);
    expect(result).toEqual({ ok: true, statement: JSON.parse(JSON.stringify(statement)), keyid: keyId });
    // The same through the file: text and bytes.
    const file = join(dir, 'certification.dsse.json');
    writeFileSync(file, serializeEnvelope(envelope));
    expect(verifyEnvelope(readFileSync(file), publicKey).ok).toBe(true);
    expect(verifyEnvelope(readFileSync(file, 'utf8'), publicKey).ok).toBe(true);
  });

  it('signEnvelope refuses a keyId that does not name the key, and a public key', () => {
    const other = otherKeyPair();
    expect(() => signEnvelope(Buffer.from('{}'), IN_TOTO_PAYLOAD_TYPE, privateKey, other.keyId)).toThrow(/does not name this private key/);
    expect(() => signEnvelope(Buffer.from('{}'), IN_TOTO_PAYLOAD_TYPE, publicKey, keyId)).toThrow(/Ed25519 private key/);
  });

  it('rejects every single-bit flip anywhere in the envelope file, without throwing', () => {
    const envelope = signStatement(sampleStatement(), privateKey, keyId);
    const file = Buffer.from(serializeEnvelope(envelope), 'utf8');
    expect(verifyEnvelope(file, publicKey).ok).toBe(true);
    const reasons = new Map<string, number>();
    let checked = 0;
    for (let position = 0; position < file.length; position += 1) {
      for (let bit = 0; bit < 8; bit += 1) {
        const tampered = Buffer.from(file);
        tampered[position]! ^= 1 << bit;
        const result = verifyEnvelope(tampered, publicKey);
        if (result.ok) throw new Error(`flipping bit ${bit} of byte ${position} (${JSON.stringify(String.fromCharCode(file[position]!))}) still verified`);
        const kind = result.reason.split(/[:(]/)[0]!.replace(/signatures\[\d+\]/, 'signatures[i]');
        reasons.set(kind, (reasons.get(kind) ?? 0) + 1);
        checked += 1;
      }
    }
    expect(checked).toBe(file.length * 8);
    // The flips reached every layer: JSON, shape, base64, key id and signature.
    const all = [...reasons.keys()].join('\n');
    expect(all).toMatch(/envelope is not JSON/);
    expect(all).toMatch(/not canonical base64/);
    expect(all).toMatch(/does not verify over the envelope's PAE/);
    expect(all).toMatch(/no signature by key/);
  });

  it('rejects whole-byte substitutions at every position of the envelope file', () => {
    // Complements the bit flips: replacement bytes that keep JSON well formed
    // where they can (a quote, a backslash, a space, a base64 letter, a digit).
    // The final newline is JSON whitespace, so swapping it for other whitespace
    // is not tampering; it is skipped for those bytes alone.
    const file = Buffer.from(serializeEnvelope(signStatement(sampleStatement(), privateKey, keyId)), 'utf8');
    const replacements = [...'"\\ A/+=0a}]'].map((char) => char.charCodeAt(0));
    for (let position = 0; position < file.length; position += 1) {
      for (const replacement of replacements) {
        if (replacement === file[position]) continue;
        if (position === file.length - 1 && replacement === 0x20) continue;
        const tampered = Buffer.from(file);
        tampered[position] = replacement;
        const result = verifyEnvelope(tampered, publicKey);
        if (result.ok) throw new Error(`replacing byte ${position} with ${String.fromCharCode(replacement)} still verified`);
      }
    }
  });

  it('rejects every single-bit flip of the decoded payload, re-encoded into the envelope', () => {
    const envelope = signStatement(sampleStatement(), privateKey, keyId);
    const payload = Buffer.from(envelope.payload, 'base64');
    for (let position = 0; position < payload.length; position += 1) {
      for (let bit = 0; bit < 8; bit += 1) {
        const tampered = Buffer.from(payload);
        tampered[position]! ^= 1 << bit;
        const result = verifyEnvelope({ ...envelope, payload: tampered.toString('base64') }, publicKey);
        if (result.ok) throw new Error(`flipping bit ${bit} of payload byte ${position} still verified`);
        expect(result.reason).toMatch(/does not verify over the envelope's PAE/);
      }
    }
  });

  it('rejects base64 that decodes to the signed bytes but is not their canonical spelling', () => {
    const envelope = signEnvelope(Buffer.from('{"a":1}'), IN_TOTO_PAYLOAD_TYPE, privateKey, keyId);
    // 7 bytes → "eyJhIjoxfQ==": the last letter before "==" carries 4 unused bits.
    expect(envelope.payload).toBe('eyJhIjoxfQ==');
    expect(Buffer.from('eyJhIjoxfR==', 'base64').toString()).toBe('{"a":1}');
    expectRejected({ ...envelope, payload: 'eyJhIjoxfR==' }, publicKey, /not canonical base64/);
    expectRejected({ ...envelope, payload: 'eyJhIjoxfQ' }, publicKey, /not canonical base64/);
    expectRejected({ ...envelope, payload: 'eyJh Ijox fQ==' }, publicKey, /not canonical base64/);
    expectRejected({ ...envelope, payload: 'eyJhIjoxfQ-_' }, publicKey, /not canonical base64/);
  });

  it('fails with the wrong key, even when the keyid is edited to name it', () => {
    const envelope = signStatement(sampleStatement(), privateKey, keyId);
    const other = otherKeyPair();
    expectRejected(envelope, other.publicKey, /no signature by key/);
    const borrowed: DsseEnvelope = { ...envelope, signatures: [{ keyid: other.keyId, sig: envelope.signatures[0]!.sig }] };
    expectRejected(borrowed, other.publicKey, /does not verify/);
    // And a statement signed by another key, under our keyid, is not ours.
    const forged = signStatement(sampleStatement(), other.privateKey, other.keyId);
    expectRejected({ ...forged, signatures: [{ keyid: keyId, sig: forged.signatures[0]!.sig }] }, publicKey, /does not verify/);
  });

  it('accepts an envelope where one of several signatures is by the key', () => {
    const ours = signStatement(sampleStatement(), privateKey, keyId);
    const other = otherKeyPair();
    const theirs = signStatement(sampleStatement(), other.privateKey, other.keyId);
    const both: DsseEnvelope = { ...ours, signatures: [theirs.signatures[0]!, ours.signatures[0]!] };
    expect(verifyEnvelope(both, publicKey).ok).toBe(true);
    expect(verifyEnvelope(both, other.publicKey).ok).toBe(true);
  });

  it('rejects a signature over the raw payload instead of the PAE (broken signer)', () => {
    const payload = Buffer.from(JSON.stringify(sampleStatement()), 'utf8');
    const broken = signRawPayload(payload, IN_TOTO_PAYLOAD_TYPE, privateKey, keyId);
    // The fixture's signature is genuine, just over the wrong bytes.
    expect(verify(null, payload, publicKey, Buffer.from(broken.signatures[0]!.sig, 'base64'))).toBe(true);
    expectRejected(broken, publicKey, /does not verify over the envelope's PAE/);
  });

  it('rejects a PAE built with character counts instead of byte counts (broken signer)', () => {
    // The sample predicate has non-ASCII text, so the two lengths differ.
    const payload = Buffer.from(JSON.stringify(sampleStatement()), 'utf8');
    expect(payload.toString('utf8').length).not.toBe(payload.length);
    expectRejected(signPaeWithCharLengths(payload, IN_TOTO_PAYLOAD_TYPE, privateKey, keyId), publicKey, /does not verify/);
  });

  it('rejects a correctly signed envelope of another payload type, or whose payload is not a Statement v1', () => {
    const statementBytes = Buffer.from(JSON.stringify(sampleStatement()), 'utf8');
    expectRejected(signEnvelope(statementBytes, 'application/json', privateKey, keyId), publicKey, /payloadType/);
    const oldStatement = { ...sampleStatement(), _type: 'https://in-toto.io/Statement/v0.1' };
    expectRejected(signEnvelope(Buffer.from(JSON.stringify(oldStatement)), IN_TOTO_PAYLOAD_TYPE, privateKey, keyId), publicKey, /_type/);
    expectRejected(signEnvelope(Buffer.from('not json'), IN_TOTO_PAYLOAD_TYPE, privateKey, keyId), publicKey, /payload is not JSON/);
    expectRejected(signEnvelope(Buffer.from([0xff, 0xfe]), IN_TOTO_PAYLOAD_TYPE, privateKey, keyId), publicKey, /not valid UTF-8/);
  });

  it('validates the envelope shape strictly', () => {
    const envelope = signStatement(sampleStatement(), privateKey, keyId);
    const signature = envelope.signatures[0]!;
    expectRejected({ ...envelope, extra: 1 }, publicKey, /unexpected field/);
    expectRejected({ payload: envelope.payload, signatures: envelope.signatures }, publicKey, /lacks payloadType/);
    expectRejected({ ...envelope, payloadType: 7 }, publicKey, /payloadType is not a string/);
    expectRejected({ ...envelope, payload: null }, publicKey, /payload is not a string/);
    expectRejected({ ...envelope, signatures: [] }, publicKey, /non-empty array/);
    expectRejected({ ...envelope, signatures: signature }, publicKey, /non-empty array/);
    expectRejected({ ...envelope, signatures: ['x'] }, publicKey, /not an object/);
    expectRejected({ ...envelope, signatures: [{ sig: signature.sig }] }, publicKey, /lacks keyid/);
    expectRejected({ ...envelope, signatures: [{ ...signature, extra: true }] }, publicKey, /unexpected field/);
    expectRejected({ ...envelope, signatures: [{ ...signature, sig: Buffer.alloc(63).toString('base64') }] }, publicKey, /64-byte/);
  });

  it('never throws on hostile input', () => {
    for (const input of [undefined, null, 0, 'x', '', '{', '[]', '{}', 'null', Buffer.from([0xc3]), new Uint8Array(), [], {}, { payloadType: {} }]) {
      expectRejected(input);
    }
    const envelope = signStatement(sampleStatement(), privateKey, keyId);
    // An object whose getters throw must still produce a reason.
    const trap = Object.defineProperty({ ...envelope }, 'payload', {
      enumerable: true,
      get: () => {
        throw new Error('trap');
      },
    });
    expectRejected(trap, publicKey, /verification error: trap/);
    // A non-Ed25519 verification key is a reason too.
    expectRejected(envelope, generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey, /not an Ed25519 key/);
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.string(), fc.uint8Array()), (input) => {
        expect(verifyEnvelope(input, publicKey).ok).toBe(false);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(
        fc.record({ payloadType: fc.string(), payload: fc.base64String(), signatures: fc.array(fc.record({ keyid: fc.string(), sig: fc.base64String() })) }),
        (input) => {
          expect(verifyEnvelope(input, publicKey).ok).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('signs deterministically (Ed25519), so a re-signed statement is byte-identical', () => {
    const a = serializeEnvelope(signStatement(sampleStatement(), privateKey, keyId));
    const b = serializeEnvelope(signStatement(sampleStatement(), privateKey, keyId));
    expect(a).toBe(b);
    // And the raw signature is node:crypto's own, over the PAE.
    const payload = Buffer.from(JSON.stringify(sampleStatement()));
    expect(JSON.parse(a).signatures[0].sig).toBe(sign(null, pae(IN_TOTO_PAYLOAD_TYPE, payload), privateKey).toString('base64'));
  });
});
