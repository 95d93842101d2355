// Signed checkpoints of the audit chains: an anchor outside the database.
//
// The hash chain (I8) catches any edit made through SQL by someone who cannot
// recompute hashes. The table owner can: disable the triggers, edit a row,
// recompute every hash after it and move the head, and `audit verify` then
// says intact. A checkpoint records every vendor's chain head (seq, hash) in
// an in-toto Statement signed with Ed25519 (a DSSE envelope, like a
// certification) and kept outside the database. A rewrite of any row at or
// before a checkpointed head changes that head's hash (every hash covers the
// one before it), so verifying against the checkpoints detects it. Rows
// appended after the newest checkpoint are protected only by the chain.
//
// The checkpoint file holds one envelope per line (JSON Lines): `audit
// checkpoint` appends, nothing rewrites, and each line verifies on its own.

import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import { BookijiError } from '../errors.js';
import type { Pool, Queryable } from '../db/pool.js';
import { verifyAudit } from '../engine/verify.js';
import { buildStatement, keyIdFor, serializeEnvelope, signStatement, verifyEnvelope } from '../certify/signing/index.js';

export const CHECKPOINT_PREDICATE_TYPE = 'https://bookiji.dev/audit-checkpoint/v1';
export const CHECKPOINT_FILE = 'audit-checkpoints.jsonl';

/** A checkpoint file larger than this is refused rather than read whole. */
const CHECKPOINT_FILE_BYTES_MAX = 256 * 1024 * 1024;

export interface ChainHead {
  vendorId: string;
  seq: number;
  hash: string;
}

export interface CheckpointPredicate {
  createdAt: string;
  /** Which database the heads belong to: checking them against another one would report every chain missing. */
  database: { name: string; systemIdentifier: string };
  heads: ChainHead[];
}

export interface CheckpointProblem {
  line: number;
  vendorId?: string;
  seq?: number;
  problem: string;
}

export interface CheckpointVerification {
  checkpoints: number;
  headsChecked: number;
  problems: CheckpointProblem[];
}

/** The last row of every vendor's chain, as the audit log holds it. */
export async function readChainHeads(db: Queryable): Promise<ChainHead[]> {
  const result = await db.query<{ vendor_id: string; seq: string; hash: string }>(
    `SELECT DISTINCT ON (vendor_id) vendor_id, seq, hash FROM audit_log ORDER BY vendor_id, seq DESC`,
  );
  return result.rows.map((row) => ({ vendorId: row.vendor_id, seq: Number(row.seq), hash: row.hash }));
}

async function databaseIdentity(db: Queryable): Promise<CheckpointPredicate['database']> {
  const result = await db.query<{ name: string; system_identifier: string }>(
    `SELECT current_database() AS name, (SELECT system_identifier::text FROM pg_control_system()) AS system_identifier`,
  );
  const row = result.rows[0]!;
  return { name: row.name, systemIdentifier: row.system_identifier };
}

/**
 * Signs the current chain heads and appends the envelope to `file`. Refuses
 * when the chains do not verify: a checkpoint vouches for what it signs.
 */
export async function writeCheckpoint(pool: Pool, file: string, privateKey: KeyObject): Promise<{ file: string; heads: number; keyId: string }> {
  const audit = await verifyAudit(pool);
  if (audit.problems.length > 0) {
    throw new BookijiError('VALIDATION_ERROR', `the audit log does not verify (${audit.problems.length} problem(s)); refusing to sign its heads`, {
      hint: 'Run `bookiji audit verify` and investigate before checkpointing.',
      details: { field: 'audit_log', problems: audit.problems.slice(0, 10) },
    });
  }
  const heads = await readChainHeads(pool);
  const predicate: CheckpointPredicate = { createdAt: new Date().toISOString(), database: await databaseIdentity(pool), heads };
  // One subject per chain: its head hash is a SHA-256, so standard in-toto tools read it as a digest.
  const subjects =
    heads.length > 0
      ? heads.map((h) => ({ name: `audit-chain:${h.vendorId}@${h.seq}`, digest: { sha256: h.hash } }))
      : [{ name: 'audit-chains:none', digest: { sha256: '0'.repeat(64) } }];
  const statement = buildStatement({ subjects, predicateType: CHECKPOINT_PREDICATE_TYPE, predicate });
  const keyId = keyIdFor(privateKey);
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  appendFileSync(file, serializeEnvelope(signStatement(statement, privateKey, keyId)), { mode: 0o644 });
  return { file, heads: heads.length, keyId };
}

function readCheckpointLines(file: string): string[] {
  if (!existsSync(file))
    throw new BookijiError('VALIDATION_ERROR', `no checkpoint file at ${file}`, {
      hint: 'Write one with `bookiji audit checkpoint`.',
      details: { field: 'checkpoints' },
    });
  const text = readFileSync(file);
  if (text.length > CHECKPOINT_FILE_BYTES_MAX)
    throw new BookijiError('VALIDATION_ERROR', `checkpoint file is larger than ${CHECKPOINT_FILE_BYTES_MAX} bytes`, { details: { field: 'checkpoints' } });
  return text.toString('utf8').split('\n');
}

function parsePredicate(value: unknown): CheckpointPredicate | null {
  const p = value as Partial<CheckpointPredicate> | null;
  if (!p || typeof p.createdAt !== 'string' || !p.database || !Array.isArray(p.heads)) return null;
  const wellFormed = p.heads.every((h) => typeof h?.vendorId === 'string' && Number.isSafeInteger(h.seq) && typeof h.hash === 'string');
  return wellFormed ? (p as CheckpointPredicate) : null;
}

/** Checks every checkpoint in `file` against the audit log: each signed head must still be the row at its seq. */
export async function verifyCheckpoints(db: Queryable, file: string, publicKey: KeyObject): Promise<CheckpointVerification> {
  const problems: CheckpointProblem[] = [];
  const identity = await databaseIdentity(db);
  let checkpoints = 0;
  let headsChecked = 0;
  for (const [index, text] of readCheckpointLines(file).entries()) {
    const line = index + 1;
    if (text.trim() === '') continue;
    const verified = verifyEnvelope(text, publicKey);
    if (!verified.ok) {
      problems.push({ line, problem: `checkpoint not authentic: ${verified.reason}` });
      continue;
    }
    const predicate = verified.statement.predicateType === CHECKPOINT_PREDICATE_TYPE ? parsePredicate(verified.statement.predicate) : null;
    if (!predicate) {
      problems.push({ line, problem: `not an audit checkpoint (predicateType ${verified.statement.predicateType})` });
      continue;
    }
    checkpoints += 1;
    if (predicate.database.systemIdentifier !== identity.systemIdentifier || predicate.database.name !== identity.name) {
      problems.push({
        line,
        problem: `checkpoint is for database ${predicate.database.name} (system ${predicate.database.systemIdentifier}), not ${identity.name} (system ${identity.systemIdentifier})`,
      });
      continue;
    }
    problems.push(...(await compareHeads(db, line, predicate.heads)));
    headsChecked += predicate.heads.length;
  }
  return { checkpoints, headsChecked, problems };
}

async function compareHeads(db: Queryable, line: number, heads: ChainHead[]): Promise<CheckpointProblem[]> {
  if (heads.length === 0) return [];
  const result = await db.query<{ vendor_id: string; seq: string; signed: string; hash: string | null }>(
    `SELECT h."vendorId" AS vendor_id, h.seq, h.hash AS signed, a.hash
     FROM jsonb_to_recordset($1::jsonb) AS h("vendorId" uuid, seq bigint, hash text)
     LEFT JOIN audit_log a ON a.vendor_id = h."vendorId" AND a.seq = h.seq`,
    [JSON.stringify(heads)],
  );
  const problems: CheckpointProblem[] = [];
  for (const row of result.rows) {
    const at = { line, vendorId: row.vendor_id, seq: Number(row.seq) };
    if (row.hash === null) problems.push({ ...at, problem: 'a checkpointed row is gone: the chain was cut or rewritten below this checkpoint' });
    else if (row.hash !== row.signed)
      problems.push({ ...at, problem: 'the row at a checkpointed head has another hash: the chain was rewritten at or before it' });
  }
  return problems;
}
