// Signed checkpoints catch what the hash chain alone cannot: the table owner
// rewriting a chain (disable triggers, edit, recompute every hash and the head).

import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { verifyCheckpoints, writeCheckpoint } from '../../src/audit/checkpoints.js';
import { cancelBooking, claimSlot } from '../../src/engine/bookings.js';
import type { Vendor } from '../../src/engine/types.js';
import { verifyAudit } from '../../src/engine/verify.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { TEST_ACTOR, makeCustomer, makeSlot, makeVendor } from '../helpers/fixtures.js';

const keys = generateKeyPairSync('ed25519');
const otherKeys = generateKeyPairSync('ed25519');

async function bookAndCancel(db: TestDatabase, vendor: Vendor): Promise<void> {
  const customer = await makeCustomer(db.pool);
  const slot = await makeSlot(db.pool, vendor, { startInMinutes: 24 * 60 + Math.floor(Math.random() * 10_000) });
  const { booking } = await claimSlot(db.pool, { slot: slot.id, customer: customer.id }, { kind: 'customer', id: customer.id, source: 'cli' });
  await cancelBooking(db.pool, { booking: booking.id, reason: 'changed plans' }, TEST_ACTOR);
}

/** What an owner with the hashing function can do: edit row 2 and re-chain everything after it, head included. */
async function rewriteChain(db: TestDatabase, vendorId: string): Promise<void> {
  const client = await db.pool.connect();
  try {
    await client.query('SET session_replication_role = replica');
    await client.query(`
      DO $$
      DECLARE r record; v_prev text; v_reason text;
      BEGIN
        SELECT hash INTO v_prev FROM audit_log WHERE vendor_id = '${vendorId}' AND seq = 1;
        FOR r IN SELECT * FROM audit_log WHERE vendor_id = '${vendorId}' AND seq >= 2 ORDER BY seq LOOP
          v_reason := CASE WHEN r.seq = 2 THEN 'forged' ELSE r.reason END;
          UPDATE audit_log SET reason = v_reason, prev_hash = v_prev,
                 hash = audit_digest(v_prev, vendor_id, seq, entity, entity_id, action, before, after, actor_kind, actor_id, source, v_reason, request_id, at)
           WHERE vendor_id = r.vendor_id AND seq = r.seq
          RETURNING hash INTO v_prev;
        END LOOP;
        UPDATE audit_chain_heads SET hash = v_prev WHERE vendor_id = '${vendorId}';
      END $$`);
  } finally {
    await client.query('SET session_replication_role = origin');
    client.release();
  }
}

describe('audit checkpoints', () => {
  let db: TestDatabase;
  let vendor: Vendor;
  let file: string;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db.drop());
  beforeEach(async () => {
    vendor = await makeVendor(db.pool);
    await bookAndCancel(db, vendor);
    file = path.join(mkdtempSync(path.join(os.tmpdir(), 'bookiji-checkpoints-')), 'audit-checkpoints.jsonl');
  });

  it('detects a full rewrite before the checkpoint that the chain alone calls intact', async () => {
    // Proves the attack is real (audit verify passes after it) and that the signed head catches it.
    await writeCheckpoint(db.pool, file, keys.privateKey);
    await rewriteChain(db, vendor.id);
    expect((await verifyAudit(db.pool, { vendorId: vendor.id })).problems).toEqual([]);
    const result = await verifyCheckpoints(db.pool, file, keys.publicKey);
    expect(result.problems.filter((p) => p.vendorId === vendor.id)).toEqual([
      expect.objectContaining({ line: 1, vendorId: vendor.id, problem: expect.stringContaining('rewritten at or before it') }),
    ]);
  });

  it('stays quiet when the chain only grew after the checkpoint', async () => {
    // Twin of the first: legitimate appends after a checkpoint are not a rewrite.
    await writeCheckpoint(db.pool, file, keys.privateKey);
    await bookAndCancel(db, vendor);
    await writeCheckpoint(db.pool, file, keys.privateKey);
    const result = await verifyCheckpoints(db.pool, file, keys.publicKey);
    expect(result).toMatchObject({ checkpoints: 2, problems: [] });
    expect(result.headsChecked).toBeGreaterThanOrEqual(2);
  });

  it('detects a chain cut below a checkpointed head', async () => {
    // Deleting the checkpointed rows (and moving the head back) is the other way to rewrite history.
    await writeCheckpoint(db.pool, file, keys.privateKey);
    const client = await db.pool.connect();
    try {
      await client.query('SET session_replication_role = replica');
      const head = await client.query(`SELECT max(seq) AS seq FROM audit_log WHERE vendor_id = $1`, [vendor.id]);
      await client.query(`DELETE FROM audit_log WHERE vendor_id = $1 AND seq = $2`, [vendor.id, head.rows[0].seq]);
      await client.query(
        `UPDATE audit_chain_heads h SET seq = a.seq, hash = a.hash FROM audit_log a WHERE a.vendor_id = h.vendor_id AND h.vendor_id = $1 AND a.seq = $2 - 1`,
        [vendor.id, head.rows[0].seq],
      );
    } finally {
      await client.query('SET session_replication_role = origin');
      client.release();
    }
    expect((await verifyAudit(db.pool, { vendorId: vendor.id })).problems).toEqual([]);
    const problems = (await verifyCheckpoints(db.pool, file, keys.publicKey)).problems;
    expect(problems).toEqual([expect.objectContaining({ vendorId: vendor.id, problem: expect.stringContaining('gone') })]);
  });

  it('refuses a checkpoint signed by another key or edited after signing', async () => {
    // A forger who rewrites the chain cannot re-sign the checkpoint without the private key.
    await writeCheckpoint(db.pool, file, otherKeys.privateKey);
    expect((await verifyCheckpoints(db.pool, file, keys.publicKey)).problems[0]?.problem).toMatch(/^checkpoint not authentic: no signature by key/);
    writeFileSync(file, '');
    await writeCheckpoint(db.pool, file, keys.privateKey);
    const envelope = JSON.parse(readFileSync(file, 'utf8'));
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
    statement.predicate.heads = statement.predicate.heads.map((h: { hash: string }) => ({ ...h, hash: 'f'.repeat(64) }));
    envelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    writeFileSync(file, `${JSON.stringify(envelope)}\n`);
    expect((await verifyCheckpoints(db.pool, file, keys.publicKey)).problems[0]?.problem).toMatch(/does not verify/);
  });

  it('refuses to sign chains that already fail verification', async () => {
    // A checkpoint vouches for what it signs: a broken chain is reported, not anchored.
    let original: string | null = null;
    const client = await db.pool.connect();
    try {
      await client.query('SET session_replication_role = replica');
      original = (await client.query(`SELECT reason FROM audit_log WHERE vendor_id = $1 AND seq = 1`, [vendor.id])).rows[0].reason;
      await client.query(`UPDATE audit_log SET reason = 'edited' WHERE vendor_id = $1 AND seq = 1`, [vendor.id]);
    } finally {
      await client.query('SET session_replication_role = origin');
      client.release();
    }
    await expect(writeCheckpoint(db.pool, file, keys.privateKey)).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    // Leave the database verifiable for the other tests: put the row back.
    const restore = await db.pool.connect();
    try {
      await restore.query('SET session_replication_role = replica');
      await restore.query(`UPDATE audit_log SET reason = $2 WHERE vendor_id = $1 AND seq = 1`, [vendor.id, original]);
    } finally {
      await restore.query('SET session_replication_role = origin');
      restore.release();
    }
    expect((await verifyAudit(db.pool)).problems).toEqual([]);
  });
});
