// DSSE (Dead Simple Signing Envelope) signing and verification, Ed25519 only.
//
// The signature covers the Pre-Authentication Encoding of the payload type
// and the payload bytes, never the payload alone, so a signature over one
// payload type can never be replayed as another. The protocol is
// https://github.com/secure-systems-lab/dsse/blob/master/protocol.md:
//
//   PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
//
// with LEN the byte length in ASCII decimal (no leading zeros) and SP one
// space (0x20). The verifier never throws on its input: anything that is not
// an envelope we signed, from unparsable JSON to a flipped bit, is a reason.

import { sign, verify, type KeyObject } from 'node:crypto';
import { BookijiError } from '../../errors.js';
import { keyIdFor } from './keys.js';
import { IN_TOTO_PAYLOAD_TYPE, isPlainObject, parseStatement, type Statement } from './statement.js';

export interface DsseSignature {
  keyid: string;
  /** Base64 (standard alphabet, padded) of the 64-byte Ed25519 signature. */
  sig: string;
}

export interface DsseEnvelope {
  payloadType: string;
  /** Base64 (standard alphabet, padded) of the payload bytes. */
  payload: string;
  signatures: DsseSignature[];
}

export type VerifyResult = { ok: true; statement: Statement; keyid: string } | { ok: false; reason: string };

const ED25519_SIGNATURE_BYTES = 64;

/** An envelope file larger than this is refused before parsing. */
const ENVELOPE_BYTES_MAX = 64 * 1024 * 1024;

const ENVELOPE_KEYS = ['payloadType', 'payload', 'signatures'];
const SIGNATURE_KEYS = ['keyid', 'sig'];

/** DSSE v1 Pre-Authentication Encoding. Lengths count UTF-8 bytes, not characters. */
export function pae(payloadType: string, payload: Uint8Array | string): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload);
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `, 'ascii'), type, Buffer.from(` ${body.length} `, 'ascii'), body]);
}

/** Signs `payload` as a DSSE envelope with one Ed25519 signature named `keyId`. */
export function signEnvelope(payload: Uint8Array, payloadType: string, privateKey: KeyObject, keyId: string): DsseEnvelope {
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
    throw new BookijiError('VALIDATION_ERROR', 'signing needs an Ed25519 private key', { details: { field: 'privateKey' } });
  }
  if (payloadType.length === 0) throw new BookijiError('VALIDATION_ERROR', 'payloadType must not be empty', { details: { field: 'payloadType' } });
  // A keyid that does not name the key would make every verifier reject the
  // envelope (they match on it); catch that here rather than after publishing.
  const expectedKeyId = keyIdFor(privateKey);
  if (keyId !== expectedKeyId) {
    throw new BookijiError('VALIDATION_ERROR', `keyId ${keyId} does not name this private key (its key id is ${expectedKeyId})`, {
      details: { field: 'keyId' },
    });
  }
  const body = Buffer.from(payload);
  const signature = sign(null, pae(payloadType, body), privateKey);
  return {
    payloadType,
    payload: body.toString('base64'),
    signatures: [{ keyid: keyId, sig: signature.toString('base64') }],
  };
}

/** Signs an in-toto Statement: its compact JSON is the payload. */
export function signStatement(statement: Statement<object>, privateKey: KeyObject, keyId: string): DsseEnvelope {
  return signEnvelope(Buffer.from(JSON.stringify(statement), 'utf8'), IN_TOTO_PAYLOAD_TYPE, privateKey, keyId);
}

/** The envelope as written to a file: compact JSON (every byte is meaningful) and a final newline. */
export function serializeEnvelope(envelope: DsseEnvelope): string {
  return `${JSON.stringify({ payloadType: envelope.payloadType, payload: envelope.payload, signatures: envelope.signatures })}\n`;
}

/**
 * Verifies an in-toto DSSE envelope against one public key.
 *
 * `envelope` may be the parsed JSON, or the file's text or bytes (parsed here,
 * so that an unparsable file is a reason, not an exception). Passes only when
 * the envelope has exactly the DSSE shape, its payload type is in-toto's, at
 * least one signature carries this key's id and verifies over the PAE, and
 * the payload is a Statement v1.
 */
export function verifyEnvelope(envelope: unknown, publicKey: KeyObject): VerifyResult {
  try {
    return verifyUnsafe(envelope, publicKey);
  } catch (error) {
    // Every check below is meant to return, not throw; this is the backstop
    // for whatever a hostile input finds that we did not foresee.
    return { ok: false, reason: `verification error: ${error instanceof Error ? error.message : String(error)}` };
  }
}

function verifyUnsafe(input: unknown, publicKey: KeyObject): VerifyResult {
  if (publicKey.asymmetricKeyType !== 'ed25519') return fail('the verification key is not an Ed25519 key');

  const parsed = parseEnvelopeInput(input);
  if (!parsed.ok) return parsed;
  const envelope = parsed.value;

  if (!isPlainObject(envelope)) return fail('envelope is not a JSON object');
  const keysProblem = exactKeys(envelope, ENVELOPE_KEYS, 'envelope');
  if (keysProblem) return fail(keysProblem);

  const { payloadType, payload, signatures } = envelope;
  if (typeof payloadType !== 'string') return fail('envelope payloadType is not a string');
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    return fail(`envelope payloadType is ${JSON.stringify(payloadType)}, expected ${JSON.stringify(IN_TOTO_PAYLOAD_TYPE)}`);
  }
  if (typeof payload !== 'string') return fail('envelope payload is not a string');
  const body = decodeBase64Strict(payload);
  if (!body) return fail('envelope payload is not canonical base64');
  if (!Array.isArray(signatures) || signatures.length === 0) return fail('envelope signatures is not a non-empty array');

  const keyId = keyIdFor(publicKey);
  const message = pae(payloadType, body);
  let signedByKey = false;
  for (const [index, entry] of signatures.entries()) {
    const at = `signatures[${index}]`;
    if (!isPlainObject(entry)) return fail(`${at} is not an object`);
    const entryProblem = exactKeys(entry, SIGNATURE_KEYS, at);
    if (entryProblem) return fail(entryProblem);
    if (typeof entry.keyid !== 'string' || typeof entry.sig !== 'string') return fail(`${at}: keyid and sig must be strings`);
    const signature = decodeBase64Strict(entry.sig);
    if (!signature || signature.length !== ED25519_SIGNATURE_BYTES) return fail(`${at}.sig is not a base64 64-byte Ed25519 signature`);
    // The keyid is not covered by the signature; we still require it to name
    // our key so that an edited keyid is caught, and so that a signature by
    // another key with a borrowed keyid is never mistaken for ours.
    if (entry.keyid !== keyId) continue;
    if (verify(null, message, publicKey, signature)) signedByKey = true;
  }
  if (!signedByKey) {
    const named = signatures.some((entry) => isPlainObject(entry) && entry.keyid === keyId);
    return fail(named ? `the signature by key ${keyId} does not verify over the envelope's PAE` : `no signature by key ${keyId}`);
  }

  const text = decodeUtf8Strict(body);
  if (text === null) return fail('payload is not valid UTF-8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return fail(`payload is not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const statement = parseStatement(json);
  if (!statement.ok) return statement;
  return { ok: true, statement: statement.statement, keyid: keyId };
}

function parseEnvelopeInput(input: unknown): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) return { ok: true, value: input };
  let text: string | null;
  if (typeof input === 'string') {
    text = input;
  } else {
    if (input.length > ENVELOPE_BYTES_MAX) return fail(`envelope is ${input.length} bytes, more than ${ENVELOPE_BYTES_MAX}`);
    text = decodeUtf8Strict(input);
    if (text === null) return fail('envelope file is not valid UTF-8');
  }
  if (text.length > ENVELOPE_BYTES_MAX) return fail(`envelope is longer than ${ENVELOPE_BYTES_MAX} characters`);
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return fail(`envelope is not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
}

function exactKeys(object: Record<string, unknown>, expected: string[], what: string): string | null {
  const keys = Object.keys(object);
  const missing = expected.filter((key) => !Object.hasOwn(object, key));
  if (missing.length > 0) return `${what} lacks ${missing.join(', ')}`;
  const extra = keys.filter((key) => !expected.includes(key));
  if (extra.length > 0) return `${what} has unexpected field(s) ${extra.map((key) => JSON.stringify(key)).join(', ')}`;
  return null;
}

/**
 * Decodes standard padded base64, accepting only the one canonical spelling
 * of each byte string. Node's decoder skips invalid characters and ignores
 * the unused low bits of the last character, so several strings decode to
 * the same bytes; a flipped character must not be one of them.
 */
function decodeBase64Strict(text: string): Buffer | null {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : null;
}

function decodeUtf8Strict(bytes: Uint8Array): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return null;
  }
}

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}
