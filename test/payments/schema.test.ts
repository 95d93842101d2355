// Proves the payment schema's database rules: the payment machine's rows, and that a card booking cannot be marked paid or confirmed without a verified payment row (I4).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { makeCustomer, makeSlot, makeVendor, TEST_ACTOR } from '../helpers/fixtures.js';
import { claimSlot, confirmBooking } from '../../src/engine/bookings.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

describe('payment schema', () => {
  // Proves a client cannot confirm a card hold, and that writing "authorized" on the booking directly is refused by the database.
  it('refuses confirmed-without-verified-payment however it is written', async () => {
    const vendor = await makeVendor(db.pool);
    const slot = await makeSlot(db.pool, vendor, { priceCents: 2500 });
    const customer = await makeCustomer(db.pool);
    const { booking } = await claimSlot(db.pool, { slot: slot.id, customer: customer.id, hold: true, paymentMethod: 'card' }, TEST_ACTOR);
    await expect(confirmBooking(db.pool, { booking: booking.id }, TEST_ACTOR)).rejects.toMatchObject({ code: 'PAYMENT_REQUIRED' });
    await expect(
      db.pool.query(`UPDATE bookings SET payment_status = 'authorized', state = 'confirmed', hold_expires_at = NULL WHERE id = $1`, [booking.id]),
    ).rejects.toMatchObject({ code: 'BK009' });
    await expect(db.pool.query(`UPDATE bookings SET payment_status = 'captured' WHERE id = $1`, [booking.id])).rejects.toMatchObject({ code: 'BK009' });
    const rows = await db.pool.query(`SELECT count(*) AS n FROM machine_states WHERE machine = 'payment'`);
    expect(rows.rows[0].n).toBe(6);
  });

  // Proves the payment-method consistency rules: free and pay-on-arrival confirm without money, and neither can be given a card payment.
  it('keeps free and pay-on-arrival bookings out of card payments', async () => {
    const vendor = await makeVendor(db.pool);
    const paid = await makeSlot(db.pool, vendor, { priceCents: 1800, startInMinutes: 3000 });
    const free = await makeSlot(db.pool, vendor, { priceCents: 0, startInMinutes: 4000 });
    const customer = await makeCustomer(db.pool);
    const onArrival = (await claimSlot(db.pool, { slot: paid.id, customer: customer.id, hold: true, paymentMethod: 'pay_on_arrival' }, TEST_ACTOR)).booking;
    expect((await confirmBooking(db.pool, { booking: onArrival.id }, TEST_ACTOR)).state).toBe('confirmed');
    const freeBooking = (await claimSlot(db.pool, { slot: free.id, customer: customer.id, hold: true }, TEST_ACTOR)).booking;
    expect(freeBooking.paymentMethod).toBe('free');
    for (const booking of [onArrival, freeBooking]) {
      await expect(db.pool.query(`SELECT begin_card_payment($1, 'customer', 'c', 'test')`, [booking.id])).rejects.toMatchObject({ code: 'BK006' });
    }
  });

  // Twin: a begin_card_payment without the method check starts a card payment for a pay-on-arrival booking.
  it('twin: without the method check a pay-on-arrival booking gets a card payment', async () => {
    const twin = await createTestDatabase();
    try {
      const { installPatched } = await import('./fixtures/broken.js');
      await installPatched(twin.pool, 'begin_card_payment(uuid, text, text, text, text)', [["IF v_booking.payment_method <> 'card' THEN", 'IF false THEN']]);
      const vendor = await makeVendor(twin.pool);
      const slot = await makeSlot(twin.pool, vendor, { priceCents: 1800 });
      const customer = await makeCustomer(twin.pool);
      const onArrival = (await claimSlot(twin.pool, { slot: slot.id, customer: customer.id, hold: true, paymentMethod: 'pay_on_arrival' }, TEST_ACTOR)).booking;
      const started = await twin.pool.query(`SELECT begin_card_payment($1, 'customer', 'c', 'test') AS p`, [onArrival.id]);
      expect(started.rows[0].p.booking_id).toBe(onArrival.id);
    } finally {
      await twin.drop();
    }
  });
});
