// Proves `reservation create` takes the idempotency key as `--idempotency-key`
// (the name `book` uses) and still as the deprecated, hidden `--key`: both
// reach the same key, so a retry under the old name returns the first
// reservation; and with neither, it is a usage error that changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDist } from '../api/build.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { makeCustomer, makeSlot, makeVendor } from '../helpers/fixtures.js';
import { runCli } from './helpers.js';

let db: TestDatabase;
let env: Record<string, string>;
beforeAll(async () => {
  buildDist();
  db = await createTestDatabase();
  env = { DATABASE_URL: db.connectionString };
});
afterAll(async () => db.drop());

describe('reservation create --idempotency-key', () => {
  it('accepts --idempotency-key and the deprecated --key as the same key', async () => {
    const vendor = await makeVendor(db.pool);
    const slot = await makeSlot(db.pool, vendor, { priceCents: 4000 });
    const requester = await makeCustomer(db.pool);
    const base = [
      'reservation',
      'create',
      '--vendor',
      vendor.id,
      '--start',
      slot.startsAt.toISOString(),
      '--end',
      slot.endsAt.toISOString(),
      '--requester',
      requester.id,
      '--partner',
      'cli-partner',
      '--json',
    ];
    const first = await runCli([...base, '--idempotency-key', 'align-1'], env);
    expect(first.code, first.stderr).toBe(0);
    const retried = await runCli([...base, '--key', 'align-1'], env);
    expect(retried.code, retried.stderr).toBe(0);
    expect((retried.json() as { id: string }).id).toBe((first.json() as { id: string }).id);

    const missing = await runCli(base, env);
    expect(missing.code).not.toBe(0);
    expect(missing.stdout + missing.stderr).toContain('--idempotency-key');
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM reservations');
    expect(rows[0].n).toBe(1);
  });

  it('shows --idempotency-key in the help and hides --key', async () => {
    const help = await runCli(['reservation', 'create', '--help']);
    expect(help.stdout).toContain('--idempotency-key <key>');
    expect(help.stdout).not.toMatch(/--key\b/);
  });
});
