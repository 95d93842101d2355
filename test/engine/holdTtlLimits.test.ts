// The hold-TTL limits: the database's engine_limits rows are the truth
// (claim_slot enforces them), TypeScript keeps one copy (src/engine/limits.ts)
// for the checks that run first. A TTL just outside the bounds must meet the
// same refusal whichever door it comes through: SQL, engine, CLI, API.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actorArgs } from '../../src/engine/actor.js';
import { claimSlot } from '../../src/engine/bookings.js';
import { HOLD_TTL_SECONDS_DEFAULT, HOLD_TTL_SECONDS_MAX, HOLD_TTL_SECONDS_MIN } from '../../src/engine/limits.js';
import { BookijiError, toBookijiError } from '../../src/errors.js';
import { call, makePartner, startTestApi, type TestApi } from '../api/helpers.js';
import { runCli } from '../cli/helpers.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { makeCustomer, makeSlot, makeVendor, TEST_ACTOR } from '../helpers/fixtures.js';

let db: TestDatabase;
let api: TestApi;

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApi(db.pool);
});

afterAll(async () => {
  await api.server.close();
  await db.drop();
});

async function engineLimit(name: string): Promise<number> {
  return Number((await db.pool.query('SELECT value FROM engine_limits WHERE name = $1', [name])).rows[0].value);
}

async function bookingCount(): Promise<number> {
  return Number((await db.pool.query('SELECT count(*) AS n FROM bookings')).rows[0].n);
}

/** The code claim_slot itself answers for a hold of `ttlSeconds`, with no TypeScript check in front. */
async function sqlClaimCode(slotId: string, customerId: string, ttlSeconds: number): Promise<string> {
  try {
    await db.pool.query('SELECT claim_slot($1, $2, true, $3, NULL, NULL, $4, $5, $6, $7)', [slotId, customerId, ttlSeconds, ...actorArgs(TEST_ACTOR)]);
    return 'OK';
  } catch (error) {
    return toBookijiError(error).code;
  }
}

describe('hold TTL limits', () => {
  it('proves the TypeScript constants equal the engine_limits rows claim_slot enforces', async () => {
    expect(HOLD_TTL_SECONDS_MIN).toBe(await engineLimit('hold_ttl_seconds_min'));
    expect(HOLD_TTL_SECONDS_MAX).toBe(await engineLimit('hold_ttl_seconds_max'));
    expect(HOLD_TTL_SECONDS_DEFAULT).toBe(await engineLimit('hold_ttl_seconds_default'));
  });

  it('proves the database accepts a hold of exactly the minimum and the maximum', async () => {
    for (const ttl of [HOLD_TTL_SECONDS_MIN, HOLD_TTL_SECONDS_MAX]) {
      const slot = await makeSlot(db.pool, await makeVendor(db.pool));
      expect(await sqlClaimCode(slot.id, (await makeCustomer(db.pool)).id, ttl)).toBe('OK');
    }
  });

  it.each([
    ['one second under the minimum', HOLD_TTL_SECONDS_MIN - 1],
    ['one second over the maximum', HOLD_TTL_SECONDS_MAX + 1],
    ['the seven days the engine once allowed', 7 * 86_400],
  ])('proves a hold TTL %s is VALIDATION_ERROR through SQL, engine, CLI and API, and books nothing', async (_name, ttl) => {
    const vendor = await makeVendor(db.pool);
    const slot = await makeSlot(db.pool, vendor);
    const customer = await makeCustomer(db.pool);
    const before = await bookingCount();

    expect(await sqlClaimCode(slot.id, customer.id, ttl)).toBe('VALIDATION_ERROR');

    const engine = await claimSlot(db.pool, { slot: slot.id, customer: customer.id, hold: true, holdTtlSeconds: ttl }, TEST_ACTOR).catch((e: unknown) => e);
    expect(engine).toBeInstanceOf(BookijiError);
    expect((engine as BookijiError).code).toBe('VALIDATION_ERROR');

    const cli = await runCli(['book', '--slot', slot.id, '--customer', customer.id, '--hold', '--hold-ttl', String(ttl), '--json'], {
      DATABASE_URL: db.connectionString,
    });
    expect(cli.code).toBe(2);
    expect((JSON.parse(cli.stderr) as { error: { code: string } }).error.code).toBe('VALIDATION_ERROR');

    const partner = await makePartner(db.pool, 'ttl');
    const body = { slotId: slot.id, customerId: customer.id, idempotencyKey: `ttl-${ttl}`, hold: true, holdTtlSeconds: ttl };
    const response = await call(api.server.url, 'POST', '/v1/bookings', { key: partner.key, body });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'VALIDATION_ERROR', field: 'holdTtlSeconds' });

    expect(await bookingCount()).toBe(before);
  });
});
