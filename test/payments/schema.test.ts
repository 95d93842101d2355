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
    await expect(db.pool.query(`UPDATE bookings SET payment_status = 'authorized', state = 'confirmed', hold_expires_at = NULL WHERE id = $1`, [booking.id]))
      .rejects.toMatchObject({ code: 'BK009' });
    await expect(db.pool.query(`UPDATE bookings SET payment_status = 'captured' WHERE id = $1`, [booking.id])).rejects.toMatchObject({ code: 'BK009' });
    const rows = await db.pool.query(`SELECT count(*) AS n FROM machine_states WHERE machine = 'payment'`);
    expect(rows.rows[0].n).toBe(6);
  });
});
