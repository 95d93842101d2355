import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BookijiError } from '../../src/errors.js';
import { generateKeyPair, keyIdFor, loadPrivateKey, loadPublicKey, PRIVATE_KEY_FILE, PUBLIC_KEY_FILE } from '../../src/certify/signing/index.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bookiji-keys-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function expectValidationError(run: () => unknown, fragment: RegExp): BookijiError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(BookijiError);
    const bookijiError = error as BookijiError;
    expect(bookijiError.code).toBe('VALIDATION_ERROR');
    expect(bookijiError.message).toMatch(fragment);
    return bookijiError;
  }
  throw new Error('expected a VALIDATION_ERROR, nothing was thrown');
}

describe('generateKeyPair', () => {
  it('writes an Ed25519 PEM pair, the private key readable by its owner only, named by a 16-byte key id', () => {
    const keys = generateKeyPair(join(dir, 'nested', 'keys'));
    expect(keys.privateKeyPath).toBe(join(dir, 'nested', 'keys', PRIVATE_KEY_FILE));
    expect(keys.publicKeyPath).toBe(join(dir, 'nested', 'keys', PUBLIC_KEY_FILE));
    expect(statSync(keys.privateKeyPath).mode & 0o777).toBe(0o600);
    expect(readFileSync(keys.privateKeyPath, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(readFileSync(keys.publicKeyPath, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(keys.keyId).toMatch(/^[0-9a-f]{32}$/);
    expect(keyIdFor(loadPublicKey(keys.publicKeyPath))).toBe(keys.keyId);
    expect(keyIdFor(loadPrivateKey(keys.privateKeyPath))).toBe(keys.keyId);
  });

  it('refuses to overwrite an existing key, leaving it untouched', () => {
    const first = generateKeyPair(dir);
    const before = readFileSync(first.privateKeyPath, 'utf8');
    let thrown: unknown;
    try {
      generateKeyPair(dir);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(BookijiError);
    expect((thrown as BookijiError).code).toBe('USAGE_ERROR');
    expect((thrown as BookijiError).hint).toMatch(/--force/);
    expect(readFileSync(first.privateKeyPath, 'utf8')).toBe(before);
  });

  it('refuses when only the public key exists, too', () => {
    writeFileSync(join(dir, PUBLIC_KEY_FILE), 'anything');
    expect(() => generateKeyPair(dir)).toThrow(/already exists/);
  });

  it('replaces the pair with force, and the new private key is 0600 even if the old file was not', () => {
    const first = generateKeyPair(dir);
    chmodSync(first.privateKeyPath, 0o644);
    const second = generateKeyPair(dir, { force: true });
    expect(second.keyId).not.toBe(first.keyId);
    expect(statSync(second.privateKeyPath).mode & 0o777).toBe(0o600);
    expect(keyIdFor(loadPublicKey(second.publicKeyPath))).toBe(second.keyId);
  });
});

describe('loadPrivateKey / loadPublicKey', () => {
  it('name the missing file', () => {
    const missing = join(dir, 'nope.key');
    const error = expectValidationError(() => loadPrivateKey(missing), /file not found/);
    expect(error.message).toContain(missing);
    expectValidationError(() => loadPublicKey(join(dir, 'nope.pub')), /file not found/);
  });

  it('reject a directory, an empty file and garbage', () => {
    expectValidationError(() => loadPrivateKey(dir), /directory|cannot be read/);
    const empty = join(dir, 'empty');
    writeFileSync(empty, '');
    expectValidationError(() => loadPrivateKey(empty), /empty/);
    expectValidationError(() => loadPublicKey(empty), /empty/);
    const garbage = join(dir, 'garbage');
    writeFileSync(garbage, 'hello, I am not a key\n');
    expectValidationError(() => loadPrivateKey(garbage), /not a PEM private key/);
    expectValidationError(() => loadPublicKey(garbage), /not a PEM public key/);
  });

  it('reject a truncated or corrupted PEM body', () => {
    const keys = generateKeyPair(join(dir, 'k'));
    const privatePem = readFileSync(keys.privateKeyPath, 'utf8');
    const publicPem = readFileSync(keys.publicKeyPath, 'utf8');
    const truncatedPrivate = join(dir, 'truncated.key');
    writeFileSync(truncatedPrivate, privatePem.replace(/\n[A-Za-z0-9+/=]+\n/, '\nMC4CAQAwBQYDK2VwBCIEI\n'));
    expectValidationError(() => loadPrivateKey(truncatedPrivate), /malformed PEM private key/);
    const corruptedPublic = join(dir, 'corrupted.pub');
    writeFileSync(corruptedPublic, publicPem.replace(/\n[A-Za-z0-9+/=]+\n/, '\n!!!!\n'));
    expectValidationError(() => loadPublicKey(corruptedPublic), /malformed PEM public key/);
  });

  it('reject keys of another algorithm', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const rsaKey = join(dir, 'rsa.key');
    const ecPub = join(dir, 'ec.pub');
    writeFileSync(rsaKey, rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(ecPub, ec.publicKey.export({ type: 'spki', format: 'pem' }));
    expectValidationError(() => loadPrivateKey(rsaKey), /expected an Ed25519 key, found rsa/);
    expectValidationError(() => loadPublicKey(ecPub), /expected an Ed25519 key, found ec/);
  });

  it('refuse a private key where a public key is expected, and the other way round', () => {
    const keys = generateKeyPair(join(dir, 'k'));
    expectValidationError(() => loadPublicKey(keys.privateKeyPath), /this is a private key/);
    expectValidationError(() => loadPrivateKey(keys.publicKeyPath), /not a PEM private key/);
  });

  it('refuse a passphrase-protected private key with a reason', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const encrypted = join(dir, 'encrypted.key');
    writeFileSync(encrypted, privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }));
    expectValidationError(() => loadPrivateKey(encrypted), /passphrase-protected/);
  });

  it('name the field and path in the error details for scripts', () => {
    mkdirSync(join(dir, 'sub'));
    const error = expectValidationError(() => loadPublicKey(join(dir, 'sub', 'x.pub')), /public signing key/);
    expect(error.details).toEqual({ field: 'publicKey', path: join(dir, 'sub', 'x.pub') });
  });
});
