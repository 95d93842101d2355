import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driveMessyHistory, driveMessyPaymentHistory } from '../../src/simcity/messyHistory.js';
import { findBookings, reconstructBooking } from '../../src/forensics/index.js';
import { claimSlot } from '../../src/engine/bookings.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { makeCustomer, makeSlot, makeVendor, TEST_ACTOR } from '../helpers/fixtures.js';
import { runCli } from './cli.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db.drop();
});

/** Deletes one audit row as a superuser with triggers off: the tampering forensics must notice. */
async function deleteAuditRow(connectionString: string, vendorId: string, seq: number): Promise<void> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query(`SET session_replication_role = replica`);
    await client.query('DELETE FROM audit_log WHERE vendor_id = $1 AND seq = $2', [vendorId, seq]);
  } finally {
    await client.end();
  }
}

describe('bookiji forensics', () => {
  it('reconstructs a messy but clean history with no unknowns, every change with actor, source and cause', async () => {
    // Proves: hold, retry, reschedules, confirm and cancel are all explained, and the customer is redacted.
    const history = await driveMessyHistory(db.pool, 'clean');
    const report = await reconstructBooking(db.pool, history.bookingId);
    expect(report.unknowns).toEqual([]);
    expect(report.explained).toBe(true);
    expect(report.state).toBe('cancelled');
    expect(report.customer.name).toBe('Ada L.');
    expect(report.customer.email).toBe('a***@example.test');
    const transitions = report.timeline.filter((e) => e.kind === 'transition');
    expect(transitions.map((t) => t.summary.split(' (')[0])).toEqual([
      'created as held',
      'held → held',
      'held → confirmed',
      'confirmed → confirmed',
      'confirmed → cancelled',
    ]);
    expect(transitions.every((t) => t.actor && t.source && t.cause)).toBe(true);
    expect(report.timeline.some((e) => e.kind === 'idempotency')).toBe(true);
    expect(report.previousSlotIds).toEqual([history.slotIds[0], history.slotIds[1]]);
    expect(report.resolution).toContain('customer fell ill');
  });

  it('shows payment records, ledger entries and webhook deliveries of a card booking, with no unknowns', async () => {
    // Proves: payment-side tables found by the schema land in the timeline with their source, including a duplicate webhook, and the lookup by payment intent id finds the booking.
    const history = await driveMessyPaymentHistory(db.pool, 'payments');
    const report = await reconstructBooking(db.pool, history.bookingId);
    expect(report.unknowns).toEqual([]);
    expect(report.relatedTables).toEqual(expect.arrayContaining(['payments', 'stripe_events', 'ledger_entries', 'payment_applications']));
    const related = report.timeline.filter((e) => e.kind === 'related');
    expect(related.some((e) => e.ref.startsWith('stripe_events#') && e.summary.includes('deliveries=2'))).toBe(true);
    expect(related.some((e) => e.summary.includes('outcome=unchanged'))).toBe(true);
    expect(report.timeline.some((e) => e.kind === 'transition' && e.summary === 'held → confirmed' && e.source === 'webhook')).toBe(true);
    expect(await findBookings(db.pool, 'pi_certify_payments')).toEqual([history.bookingId]);
  });

  it('reports a gap in the audit chain when an audit row of the booking was deleted', async () => {
    // Proves: deleting an audit row (superuser, triggers off) makes the history unexplained, naming the gap.
    const history = await driveMessyHistory(db.pool, 'gap');
    const rows = await db.pool.query(`SELECT seq FROM audit_log WHERE vendor_id = $1 AND entity_id = $2 AND action = 'update' ORDER BY seq`, [
      history.vendorId,
      history.bookingId,
    ]);
    const victim = Number(rows.rows[1].seq);
    await deleteAuditRow(db.connectionString, history.vendorId, victim);
    const report = await reconstructBooking(db.pool, history.bookingId);
    expect(report.explained).toBe(false);
    expect(report.unknowns.some((u) => u.kind === 'audit_chain' && u.detail.includes(`missing before seq ${victim + 1}`))).toBe(true);
    expect(report.unknowns.some((u) => u.kind === 'missing_audit_row')).toBe(true);
  });

  it('names a change written without a cause', async () => {
    // Proves: an update that bypassed the engine (no actor, no reason) is an unknown, not a silent entry.
    const vendor = await makeVendor(db.pool);
    const customer = await makeCustomer(db.pool);
    const slot = await makeSlot(db.pool, vendor);
    const { booking } = await claimSlot(db.pool, { slot: slot.id, customer: customer.id, hold: true }, TEST_ACTOR);
    await db.pool.query(`UPDATE bookings SET state = 'confirmed', hold_expires_at = NULL WHERE vendor_id = $1 AND id = $2`, [vendor.id, booking.id]);
    const report = await reconstructBooking(db.pool, booking.id);
    expect(report.unknowns.filter((u) => u.kind === 'no_cause').length).toBeGreaterThanOrEqual(2);
    expect(report.explained).toBe(false);
  });

  it('finds every booking that was ever on a slot from the slot id', async () => {
    // Proves: a slot id leads to the bookings that were on it, including one rescheduled away.
    const history = await driveMessyHistory(db.pool, 'byslot');
    expect(await findBookings(db.pool, history.slotIds[0]!)).toEqual([history.bookingId]);
    await expect(findBookings(db.pool, '00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ code: 'BOOKING_NOT_FOUND' });
  });

  it('exits 0 on an explained booking and 1 on one with a gap, from the command line', async () => {
    // Proves: the CLI's exit code says whether the history can be fully explained.
    const clean = await driveMessyHistory(db.pool, 'cli-clean');
    const ok = await runCli(['forensics', clean.bookingId, '--json'], { DATABASE_URL: db.connectionString });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).explained).toBe(true);
    const broken = await driveMessyHistory(db.pool, 'cli-gap');
    const seq = (await db.pool.query(`SELECT min(seq) AS seq FROM audit_log WHERE vendor_id = $1 AND entity_id = $2`, [broken.vendorId, broken.bookingId]))
      .rows[0].seq;
    await deleteAuditRow(db.connectionString, broken.vendorId, Number(seq));
    const bad = await runCli(['forensics', broken.bookingId], { DATABASE_URL: db.connectionString });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('audit_chain');
  });

  it("shows every time in the vendor's zone beside UTC", async () => {
    // Proves: the slot, each timeline entry and the table carry the vendor's wall time (Kolkata, UTC+05:30) next to UTC.
    const vendor = await makeVendor(db.pool, 'Asia/Kolkata');
    const customer = await makeCustomer(db.pool);
    const slot = await makeSlot(db.pool, vendor);
    const { booking } = await claimSlot(db.pool, { slot: slot.id, customer: customer.id, hold: true }, TEST_ACTOR);
    const kolkata = (iso: string) => `${new Date(Date.parse(iso) + 330 * 60_000).toISOString().slice(0, 19).replace('T', ' ')} GMT+5:30`;
    const report = await reconstructBooking(db.pool, booking.id);
    expect(report.slot.startsAtVendorTime).toBe(kolkata(report.slot.startsAt));
    expect(report.slot.endsAtVendorTime).toBe(kolkata(report.slot.endsAt));
    expect(report.timeline.length).toBeGreaterThan(0);
    for (const entry of report.timeline) expect(entry.atVendorTime).toBe(kolkata(entry.at));
    const shown = await runCli(['forensics', booking.id], { DATABASE_URL: db.connectionString });
    expect(shown.stdout).toContain('at (Asia/Kolkata)');
    expect(shown.stdout).toContain(kolkata(report.slot.startsAt));
  });
});
