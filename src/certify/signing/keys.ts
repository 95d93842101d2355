// The certifier's signing key: one Ed25519 pair kept as two PEM files.
//
// The private key is PKCS#8 PEM (`bookiji-signing.key`, mode 0600), the public
// key SPKI PEM (`bookiji-signing.pub`), so that `openssl pkey` and any other
// standard tool can read both. A key is named by its key id: the first 16
// bytes of the SHA-256 of the public key's SPKI DER, in lowercase hex. The id
// is what a DSSE signature's `keyid` carries, and the verifier only trusts a
// signature whose `keyid` names the key it was given.

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BookijiError } from '../../errors.js';

export const PRIVATE_KEY_FILE = 'bookiji-signing.key';
export const PUBLIC_KEY_FILE = 'bookiji-signing.pub';

/** Bytes of the SHA-256 of the SPKI DER kept in a key id (so 32 hex characters). */
const KEY_ID_BYTES = 16;

/** A PEM file larger than this is not a key; refuse to read it whole. */
const KEY_FILE_BYTES_MAX = 64 * 1024;

export interface GeneratedKeyPair {
  privateKeyPath: string;
  publicKeyPath: string;
  keyId: string;
}

/**
 * Creates a fresh Ed25519 key pair in `dir` (created if missing). Refuses to
 * replace an existing key file unless `force` is set: losing the private key
 * of a published certification cannot be undone.
 */
export function generateKeyPair(dir: string, options: { force?: boolean } = {}): GeneratedKeyPair {
  const privateKeyPath = join(dir, PRIVATE_KEY_FILE);
  const publicKeyPath = join(dir, PUBLIC_KEY_FILE);
  const force = options.force === true;
  if (!force) {
    const existing = [privateKeyPath, publicKeyPath].filter((path) => existsSync(path));
    if (existing.length > 0) {
      throw new BookijiError('USAGE_ERROR', `signing key already exists: ${existing.join(', ')}`, {
        hint: 'Keep the existing key (certifications signed with it stay verifiable), or pass --force to replace it.',
        details: { existing },
      });
    }
  }
  mkdirSync(dir, { recursive: true });

  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' });

  // 'wx' makes a concurrent generator lose instead of silently overwriting;
  // with --force we overwrite on purpose. The mode given to writeFileSync only
  // applies to a new file, so chmod again for a replaced one.
  const flag = force ? 'w' : 'wx';
  writeFileSync(privateKeyPath, privatePem, { mode: 0o600, flag });
  chmodSync(privateKeyPath, 0o600);
  writeFileSync(publicKeyPath, publicPem, { mode: 0o644, flag });

  return { privateKeyPath, publicKeyPath, keyId: keyIdFor(publicKey) };
}

/** The key id of a key (a private key is named by its public half). */
export function keyIdFor(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest().subarray(0, KEY_ID_BYTES).toString('hex');
}

/** Reads an Ed25519 private key (PKCS#8 PEM). Any problem is a VALIDATION_ERROR naming the file. */
export function loadPrivateKey(path: string): KeyObject {
  const pem = readKeyFile(path, 'private');
  if (pem.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
    throw keyFileError(path, 'private', 'the key is passphrase-protected; the certifier signs unattended and needs an unencrypted key');
  }
  if (!pem.includes('-----BEGIN PRIVATE KEY-----')) {
    throw keyFileError(path, 'private', 'not a PEM private key (expected "-----BEGIN PRIVATE KEY-----")');
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw keyFileError(path, 'private', `malformed PEM private key (${errorMessage(error)})`, error);
  }
  assertEd25519(key, path, 'private');
  return key;
}

/** Reads an Ed25519 public key (SPKI PEM). Any problem is a VALIDATION_ERROR naming the file. */
export function loadPublicKey(path: string): KeyObject {
  const pem = readKeyFile(path, 'public');
  if (/PRIVATE KEY-----/.test(pem)) {
    // Accepting it would work, but whoever passed it is about to hand the
    // private key to a verifier; stop them.
    throw keyFileError(path, 'public', `this is a private key; pass the public key (${PUBLIC_KEY_FILE}) instead`);
  }
  if (!pem.includes('-----BEGIN PUBLIC KEY-----')) {
    throw keyFileError(path, 'public', 'not a PEM public key (expected "-----BEGIN PUBLIC KEY-----")');
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw keyFileError(path, 'public', `malformed PEM public key (${errorMessage(error)})`, error);
  }
  assertEd25519(key, path, 'public');
  return key;
}

type KeyKind = 'private' | 'public';

function readKeyFile(path: string, kind: KeyKind): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const problem = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${errorMessage(error)})`;
    throw keyFileError(path, kind, problem, error);
  }
  if (bytes.length === 0) throw keyFileError(path, kind, 'file is empty');
  if (bytes.length > KEY_FILE_BYTES_MAX) throw keyFileError(path, kind, `file is ${bytes.length} bytes, too large for a key`);
  return bytes.toString('utf8');
}

function assertEd25519(key: KeyObject, path: string, kind: KeyKind): void {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw keyFileError(path, kind, `expected an Ed25519 key, found ${key.asymmetricKeyType ?? 'an unknown key type'}`);
  }
}

function keyFileError(path: string, kind: KeyKind, problem: string, cause?: unknown): BookijiError {
  return new BookijiError('VALIDATION_ERROR', `${kind} signing key ${path}: ${problem}`, {
    hint:
      kind === 'private'
        ? `Point to the ${PRIVATE_KEY_FILE} written by key generation (an Ed25519 PKCS#8 PEM file).`
        : `Point to the ${PUBLIC_KEY_FILE} published with the certification (an Ed25519 SPKI PEM file).`,
    cause,
    details: { field: kind === 'private' ? 'privateKey' : 'publicKey', path },
  });
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
