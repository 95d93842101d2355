// Signing of certifications: Ed25519 keys, in-toto Statements, DSSE envelopes.
// Pure (no database): `bookiji certify` signs with it, `certify verify` checks.

export { generateKeyPair, keyIdFor, loadPrivateKey, loadPublicKey, PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, type GeneratedKeyPair } from './keys.js';
export {
  buildStatement,
  CERTIFICATION_PREDICATE_TYPE,
  gitCommitSubject,
  IN_TOTO_PAYLOAD_TYPE,
  IN_TOTO_STATEMENT_TYPE,
  parseStatement,
  schemaSubject,
  type Statement,
  type StatementSubject,
} from './statement.js';
export { pae, serializeEnvelope, signEnvelope, signStatement, verifyEnvelope, type DsseEnvelope, type DsseSignature, type VerifyResult } from './dsse.js';
