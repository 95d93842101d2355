// Mutants of the reservation machine: committed exactly when the booking is
// confirmed (R1), both payments captured before COMMITTED (R2), a failed
// reservation owes its money back (R3). The witnesses drive the machine
// through its SQL functions, with the provider's answers applied as the
// webhook would apply them (no provider needed).

import { randomBytes } from 'node:crypto';
import type { Pool } from '../../../db/pool.js';
import { expectOutcome, one, outcomeOf, witnessVendor } from '../fixtures.js';
import { rewriteFunction } from '../sqlEdit.js';
import type { Mutant } from '../types.js';

const PRICE_CENTS = 8_000;
const ACTOR = `'operator', 'witness', 'test'`;
const COMMIT_CONFIRMS = "SET payment_status = 'captured', state = 'confirmed', hold_expires_at = NULL";
const BOTH_CAPTURED = 'IF v_captured = 2 THEN';
const RELEASE_SCOPE = 'WHERE p.vendor_id = p_vendor_id AND p.reservation_id = p_reservation_id';
const FINISH_COMMIT = 'reservation_finish_commit(uuid, text, text, text)';
const RELEASE_PAYMENTS = 'reservation_release_payments(uuid, uuid)';
const CREATE_RESERVATION = 'create_reservation(uuid, timestamptz, timestamptz, uuid, text, jsonb, text, text, text, text)';
/** The first key lookup's replay (the second, after a unique violation, is the same call further down). */
const KEY_LOOKUP_REPLAY = 'IF FOUND THEN\n    RETURN QUERY SELECT reservation_replay(v_existing, v_hash), true;';
const KEY_LOOKUP_UNCHECKED = 'IF FOUND THEN\n    RETURN QUERY SELECT to_jsonb(v_existing), true;';

interface Reservation {
  vendorId: string;
  id: string;
  bookingId: string;
  payments: Record<'vendor_deposit' | 'requester', string>;
}

async function providerSays(pool: Pool, vendorId: string, paymentId: string, status: string, cents: number): Promise<void> {
  await pool.query(`SELECT apply_payment_state($1, $2, $3, $4, $5, 0, NULL, NULL, NULL, NULL, ${ACTOR})`, [
    vendorId,
    paymentId,
    status,
    status === 'requires_capture' ? cents : 0,
    status === 'succeeded' ? cents : 0,
  ]);
}

async function authorize(pool: Pool, r: Omit<Reservation, 'payments'>, role: 'vendor_deposit' | 'requester'): Promise<string> {
  const payment = await one<{ p: { id: string; amount_cents: number } }>(pool, `SELECT reservation_begin_authorization($1, $2, ${ACTOR}) AS p`, [r.id, role]);
  await pool.query(`SELECT record_payment_intent($1, $2, $3, ${ACTOR})`, [r.vendorId, payment.p.id, `pi_witness_${randomBytes(6).toString('hex')}`]);
  await providerSays(pool, r.vendorId, payment.p.id, 'requires_capture', payment.p.amount_cents);
  await pool.query(`SELECT reservation_apply_authorization($1, $2, ${ACTOR})`, [r.id, role]);
  return payment.p.id;
}

/** A reservation taken as far as `stage`: vendor-authorized (deposit only) or commit in progress (both authorized). */
async function reservationAt(pool: Pool, stage: 'deposit-authorized' | 'committing'): Promise<Reservation> {
  const v = await witnessVendor(pool, [{ startInMinutes: 24 * 60, priceCents: PRICE_CENTS }], 1);
  const created = await one<{ r: { id: string; booking_id: string } }>(
    pool,
    `SELECT reservation AS r FROM create_reservation($1, (SELECT starts_at FROM slots WHERE id = $2), (SELECT ends_at FROM slots WHERE id = $2), $3, 'witness-partner', '{}'::jsonb, $4, ${ACTOR})`,
    [v.vendorId, v.slots[0], v.customers[0], `witness-${v.vendorId}`],
  );
  const base = { vendorId: v.vendorId, id: created.r.id, bookingId: created.r.booking_id };
  await pool.query(`SELECT vendor_confirm_reservation($1, ${ACTOR})`, [base.id]);
  const deposit = await authorize(pool, base, 'vendor_deposit');
  if (stage === 'deposit-authorized') return { ...base, payments: { vendor_deposit: deposit, requester: '' } };
  const requester = await authorize(pool, base, 'requester');
  await pool.query(`SELECT reservation_begin_commit($1, ${ACTOR})`, [base.id]);
  return { ...base, payments: { vendor_deposit: deposit, requester } };
}

async function capture(pool: Pool, r: Reservation, role: 'vendor_deposit' | 'requester'): Promise<void> {
  const amount = await one<{ a: number }>(pool, 'SELECT amount_cents AS a FROM payments WHERE id = $1', [r.payments[role]]);
  await providerSays(pool, r.vendorId, r.payments[role], 'succeeded', amount.a);
}

async function states(pool: Pool, r: Reservation): Promise<{ reservation: string; booking: string }> {
  return one(pool, 'SELECT r.state AS reservation, b.state AS booking FROM reservations r JOIN bookings b ON b.id = r.booking_id WHERE r.id = $1', [r.id]);
}

export const RESERVATION_GUARD_MUTANTS: Mutant[] = [
  {
    id: 'commit-leaves-booking-held',
    title: 'a committed reservation leaves its booking held instead of confirming it',
    language: 'sql',
    invariants: ['R1'],
    phase: 2,
    expectedCatcher: 'SimCity SC-9 (reservations: every commit, first the opening attacks, then reservation-booking-agree) and the R1 check of verify',
    source: { file: 'migrations/0012_reservations.sql', original: COMMIT_CONFIRMS, replacement: "SET payment_status = 'captured'" },
    apply: (pool) => rewriteFunction(pool, FINISH_COMMIT, COMMIT_CONFIRMS, "SET payment_status = 'captured'"),
    async witness({ normal }) {
      const r = await reservationAt(normal, 'committing');
      await capture(normal, r, 'vendor_deposit');
      await capture(normal, r, 'requester');
      await normal.query(`SELECT reservation_finish_commit($1, ${ACTOR})`, [r.id]);
      const s = await states(normal, r);
      return {
        held: s.booking === 'confirmed',
        observed: `after both captures: reservation ${s.reservation}, booking ${s.booking} (the real engine: COMMITTED, confirmed)`,
      };
    },
  },
  {
    id: 'commit-on-one-capture',
    title: 'a reservation commits once either of its two payments is captured',
    language: 'sql',
    invariants: ['R2'],
    phase: 2,
    expectedCatcher: 'SimCity SC-9 (reservations: the opening attack capture_fails_mid_commit, then committed-has-both-captures) and the R2 check of verify',
    source: { file: 'migrations/0012_reservations.sql', original: BOTH_CAPTURED, replacement: 'IF v_captured >= 1 THEN' },
    apply: (pool) => rewriteFunction(pool, FINISH_COMMIT, BOTH_CAPTURED, 'IF v_captured >= 1 THEN'),
    async witness({ normal }) {
      const r = await reservationAt(normal, 'committing');
      await capture(normal, r, 'requester');
      await normal.query(`SELECT reservation_finish_commit($1, ${ACTOR})`, [r.id]);
      const s = await states(normal, r);
      return {
        held: s.reservation === 'COMMIT_IN_PROGRESS',
        observed: `after one of two captures: reservation ${s.reservation} (the real engine: COMMIT_IN_PROGRESS)`,
      };
    },
  },
  {
    id: 'failed-reservation-keeps-money',
    title: 'a failed or cancelled reservation no longer owes its authorizations back',
    language: 'sql',
    invariants: ['R3'],
    phase: 2,
    expectedCatcher:
      'SimCity SC-9 (reservations: a reservation ending with money authorized or captured, then failed-owes-money-back) and the R3 check of verify',
    source: { file: 'migrations/0012_reservations.sql', original: RELEASE_SCOPE, replacement: `WHERE false AND ${RELEASE_SCOPE.slice('WHERE '.length)}` },
    apply: (pool) => rewriteFunction(pool, RELEASE_PAYMENTS, RELEASE_SCOPE, `WHERE false AND ${RELEASE_SCOPE.slice('WHERE '.length)}`),
    async witness({ normal }) {
      const r = await reservationAt(normal, 'deposit-authorized');
      await normal.query(`SELECT cancel_reservation($1, 'witness', ${ACTOR})`, [r.id]);
      const owed = (await one<{ a: string }>(normal, 'SELECT pending_action AS a FROM payments WHERE id = $1', [r.payments.vendor_deposit])).a;
      return { held: owed === 'cancel', observed: `the authorized deposit of a cancelled reservation owes: ${owed} (the real engine: cancel)` };
    },
  },
  {
    id: 'reservation-key-replays-other-request',
    title: 'create_reservation answers a reused key with the first reservation without comparing the requests (after the first one committed)',
    language: 'sql',
    invariants: ['I6'],
    phase: 2,
    expectedCatcher: 'SimCity SC-9 same_key_race (the same key with other metadata, sent after the first committed)',
    source: { file: 'migrations/0034_reservation_idempotency_race.sql', original: KEY_LOOKUP_REPLAY, replacement: KEY_LOOKUP_UNCHECKED },
    apply: (pool) => rewriteFunction(pool, CREATE_RESERVATION, KEY_LOOKUP_REPLAY, KEY_LOOKUP_UNCHECKED),
    async witness({ normal }) {
      const v = await witnessVendor(normal, [{ startInMinutes: 24 * 60, priceCents: PRICE_CENTS }], 1);
      const create = (metadata: string) =>
        normal.query(
          `SELECT reservation AS r FROM create_reservation($1, (SELECT starts_at FROM slots WHERE id = $2), (SELECT ends_at FROM slots WHERE id = $2), $3, 'witness-partner', $4::jsonb, $5, ${ACTOR})`,
          [v.vendorId, v.slots[0], v.customers[0], metadata, `witness-${v.vendorId}`],
        );
      await create('{"request": "first"}');
      const got = await outcomeOf(() => create('{"request": "second"}'));
      return expectOutcome('SQLSTATE BK010', got, 'the same reservation key with other metadata');
    },
  },
];
