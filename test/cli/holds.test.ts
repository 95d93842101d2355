// Proves the ops tables people act on: `holds list` and `holds expire` show
// the vendor by name, the slot start in the vendor's zone beside UTC, the
// customer redacted, minutes past TTL and the payment with what expiring it
// owes; --json keeps the ids and adds those fields; and the change is
// audited as the OS user who ran it.
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimSlot } from '../../src/engine/bookings.js';
import { advanceClock } from '../../src/engine/clock.js';
import { owedOnExpiry } from '../../src/engine/holds.js';
import { buildDist } from '../api/build.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { makeSlot, TEST_ACTOR } from '../helpers/fixtures.js';
import { addCustomer } from '../../src/engine/customers.js';
import { addVendor } from '../../src/engine/vendors.js';
import { runCli } from './helpers.js';

let db: TestDatabase;
let env: Record<string, string>;
beforeAll(async () => {
  buildDist();
  db = await createTestDatabase({ simulation: true });
  env = { DATABASE_URL: db.connectionString };
});
afterAll(async () => db.drop());

/** A card hold on a Kolkata vendor's slot (UTC+05:30, no DST), its TTL passed 3 minutes ago. */
async function expiredKolkataHold(email = 'priya.raman@example.test') {
  const vendor = await addVendor(db.pool, { name: 'Clinic Mumbai', timezone: 'Asia/Kolkata' });
  const customer = await addCustomer(db.pool, { name: 'Priya Raman', email });
  const slot = await makeSlot(db.pool, vendor, { startInMinutes: 600, priceCents: 2500 });
  const { booking } = await claimSlot(db.pool, { slot: slot.id, customer: customer.id, hold: true, paymentMethod: 'card', holdTtlSeconds: 60 }, TEST_ACTOR);
  await advanceClock(db.pool, (60 + 3 * 60) * 1000);
  return { vendor, customer, slot, booking };
}

/** Runs `use` while a second connection holds `slotId` locked, as a running request would. */
async function whileSlotLocked(slotId: string, use: () => Promise<void>): Promise<void> {
  const locker = await db.pool.connect();
  try {
    await locker.query('BEGIN');
    await locker.query('SELECT 1 FROM slots WHERE id = $1 FOR UPDATE', [slotId]);
    await use();
  } finally {
    await locker.query('ROLLBACK');
    locker.release();
  }
}

function kolkataWallTime(instant: Date): string {
  const shifted = new Date(instant.getTime() + 330 * 60_000).toISOString();
  return `${shifted.slice(0, 10)} ${shifted.slice(11, 19)} GMT+5:30`;
}

describe('holds list and holds expire', () => {
  it("shows who, where, when in the vendor's zone, how late, and what is owed; then expires as the OS user", async () => {
    const { vendor, customer, slot, booking } = await expiredKolkataHold();
    const listed = await runCli(['holds', 'list', '--json'], env);
    expect(listed.code, listed.stderr).toBe(0);
    const row = (listed.json() as Array<Record<string, unknown>>).find((h) => h.id === booking.id)!;
    expect(row).toMatchObject({
      id: booking.id,
      slotId: slot.id,
      customerId: customer.id,
      vendorName: 'Clinic Mumbai',
      vendorTimezone: 'Asia/Kolkata',
      slotStartsAt: slot.startsAt.toISOString(),
      slotStartsAtVendorTime: kolkataWallTime(slot.startsAt),
      customer: { id: customer.id, name: 'Priya R.', email: 'p***@example.test' },
      minutesPastTtl: 3,
      paymentMethod: 'card',
      payment: null,
      owedOnExpiry: { action: 'none' },
    });
    expect(listed.stdout).not.toContain('priya.raman');

    const table = await runCli(['holds', 'list'], env);
    expect(table.stdout).toContain('Clinic Mumbai');
    expect(table.stdout).toContain(kolkataWallTime(slot.startsAt));
    expect(table.stdout).toContain('3 min');
    expect(table.stdout).not.toContain('priya.raman');

    const dry = await runCli(['holds', 'expire', '--dry-run', '--json'], env);
    expect((dry.json() as { wouldExpire: Array<Record<string, unknown>> }).wouldExpire[0]).toMatchObject({
      bookingId: booking.id,
      vendorName: 'Clinic Mumbai',
      minutesPastTtl: 3,
    });

    // $USER says someone else (sudo, containers): the audit names the OS account.
    const done = await runCli(['holds', 'expire', '--yes', '--json'], { ...env, USER: 'not-the-os-user' });
    expect(done.code, done.stderr).toBe(0);
    expect((done.json() as { expired: Array<Record<string, unknown>> }).expired[0]).toMatchObject({
      bookingId: booking.id,
      customer: { email: 'p***@example.test' },
      minutesPastTtl: 3,
    });
    const audit = await db.pool.query(`SELECT actor_kind, actor_id FROM audit_log WHERE entity_id = $1 ORDER BY seq DESC LIMIT 1`, [booking.id]);
    expect(audit.rows[0]).toEqual({ actor_kind: 'operator', actor_id: os.userInfo().username });
    expect(vendor.id).toBe(row.vendorId);
  });

  // Proves a hold the sweep had to skip (its slot locked by a running request) is reported as still held, not as expired by someone else, and the next run expires it.
  it('reports a hold whose slot was locked as still held, and expires it on the next run', async () => {
    const { slot, booking } = await expiredKolkataHold('priya.raman+locked@example.test');
    await whileSlotLocked(slot.id, async () => {
      const json = await runCli(['holds', 'expire', '--yes', '--json'], env);
      expect(json.code, json.stderr).toBe(0);
      const report = json.json() as { expired: Array<{ bookingId: string }>; stillHeld: string[] };
      expect(report.expired.map((h) => h.bookingId)).not.toContain(booking.id);
      expect(report.stillHeld).toEqual([booking.id]);
      const text = await runCli(['holds', 'expire', '--yes'], env);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).not.toMatch(/by someone else/);
      expect(text.stderr).toContain(
        `1 hold(s) past their TTL are still held: a running request had their slot locked; run again to expire them (${booking.id})`,
      );
    });
    const again = await runCli(['holds', 'expire', '--yes', '--json'], env);
    const after = again.json() as { expired: Array<{ bookingId: string }>; stillHeld: string[] };
    expect(after.expired.map((h) => h.bookingId)).toEqual([booking.id]);
    expect(after.stillHeld).toEqual([]);
  });

  // Proves reconcile's hold step reports what it had to skip the same way: still held, named, expired by the next run.
  it('reconcile reports a hold whose slot was locked as still held', async () => {
    const { slot, booking } = await expiredKolkataHold('priya.raman+reconcile@example.test');
    await whileSlotLocked(slot.id, async () => {
      const json = await runCli(['reconcile', '--yes', '--json'], env);
      expect(json.code, json.stderr).toBe(0);
      const report = json.json() as { expiredHolds: Array<{ bookingId: string }>; stillHeld: string[] };
      expect(report.expiredHolds.map((h) => h.bookingId)).not.toContain(booking.id);
      expect(report.stillHeld).toEqual([booking.id]);
      const text = await runCli(['reconcile', '--yes'], env);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toMatch(/holds past TTL left held \(slot locked\)\s*│\s*1/);
      expect(text.stderr).toContain(
        `1 hold(s) past their TTL are still held: a running request had their slot locked; run again to expire them (${booking.id})`,
      );
    });
    const again = await runCli(['reconcile', '--yes', '--json'], env);
    const after = again.json() as { expiredHolds: Array<{ bookingId: string }>; stillHeld: string[] };
    expect(after.expiredHolds.map((h) => h.bookingId)).toEqual([booking.id]);
    expect(after.stillHeld).toEqual([]);
  });

  // Proves what expiring a hold owes follows its payment: an authorization is owed a release, captured money a refund.
  it('names what expiring owes for each payment state', () => {
    const base = {
      id: 'p',
      pendingAction: 'none',
      amountCents: 2500,
      amountCapturedCents: 0,
      amountRefundedCents: 0,
      currency: 'EUR',
      providerIntentId: 'pi_1',
    };
    expect(owedOnExpiry({ ...base, status: 'authorized', amountCapturableCents: 2500 })).toEqual({ action: 'release', cents: 2500, currency: 'EUR' });
    expect(owedOnExpiry({ ...base, status: 'captured', amountCapturableCents: 0, amountCapturedCents: 2500, amountRefundedCents: 500 })).toEqual({
      action: 'refund',
      cents: 2000,
      currency: 'EUR',
    });
    expect(owedOnExpiry({ ...base, status: 'requires_payment', amountCapturableCents: 0 })).toMatchObject({ action: 'cancel_intent' });
    expect(owedOnExpiry(null)).toMatchObject({ action: 'none' });
  });
});
