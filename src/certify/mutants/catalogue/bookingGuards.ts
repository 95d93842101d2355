// Mutants of the claim path's guards: capacity (I1), vendor exclusivity
// (I2), the slot counter (I3), time (I5), idempotency (I6) and holds (I9).

import { advanceClock } from '../../../engine/clock.js';
import { cancelBooking, claimSlot, rescheduleBooking } from '../../../engine/bookings.js';
import type { Pool } from '../../../db/pool.js';
import { claim, expectOutcome, one, outcomeOf, whileLocked, WITNESS_ACTOR, witnessVendor } from '../fixtures.js';
import { alterGuard, constraintExists, indexExists, rewriteFunction } from '../sqlEdit.js';
import type { Mutant } from '../types.js';
import { CANCEL_BOOKING, CLAIM_REQUEST_HASH, CLAIM_SLOT, EXPIRE_ON_SLOT, RESCHEDULE_BOOKING } from './signatures.js';

const FAST_FAIL = 'IF v_slot.booked_count >= v_slot.capacity AND NOT EXISTS (';
const RECHECK = 'IF v_slot.booked_count >= v_slot.capacity THEN';
const SLOT_LOCK = 'PERFORM lock_slots_for_write(v_slot.vendor_id, ARRAY[p_slot_id], v_slot.starts_at, v_slot.ends_at);';
const CANCEL_COUNTER = 'UPDATE slots SET booked_count = booked_count - 1 WHERE vendor_id = v_booking.vendor_id AND id = v_booking.slot_id;';
const RESCHEDULE_OLD_COUNTER = 'UPDATE slots SET booked_count = booked_count - 1 WHERE vendor_id = v_booking.vendor_id AND id = v_old_slot_id;';
const EXPIRY_COUNTER = 'SET booked_count = booked_count - cardinality(v_expired)';
const PAST_BEFORE_LOCK = 'IF v_slot.starts_at <= v_now THEN';
const PAST_AFTER_LOCK = 'IF v_slot.starts_at <= bookiji_clock_now() THEN';
const RESCHEDULE_PAST = 'IF v_new.starts_at <= bookiji_clock_now() THEN';
const HASH_FIELDS = "'slot_id', p_slot_id, 'customer_id', p_customer_id";
const HASH_INTENT = "'hold', p_hold, 'hold_ttl_seconds', p_hold_ttl_seconds,";
const HASH_METHOD = "'payment_method', p_payment_method)";
const FREE_EXPIRED_ON_SLOT = 'PERFORM expire_stale_holds_on_slot(v_slot.vendor_id, p_slot_id);';

async function rewriteClaim(pool: Pool, edits: Array<[string, string]>): Promise<void> {
  for (const [from, to] of edits) await rewriteFunction(pool, CLAIM_SLOT, from, to);
}

async function bookedCount(pool: Pool, slotId: string): Promise<number> {
  return Number((await one<{ n: number }>(pool, 'SELECT booked_count AS n FROM slots WHERE id = $1', [slotId])).n);
}

export const BOOKING_GUARD_MUTANTS: Mutant[] = [
  {
    id: 'claim-ignores-capacity',
    title: 'claim_slot without its capacity checks (the counter CHECK left in place)',
    language: 'sql',
    invariants: ['I1'],
    phase: 1,
    expectedCatcher: 'phase 1 contention rounds (exactly one winner, every loser BOOKING_CONFLICT)',
    source: { file: 'migrations/0006_engine_hardening.sql', original: RECHECK, replacement: 'IF false THEN' },
    apply: (pool) =>
      rewriteClaim(pool, [
        [FAST_FAIL, 'IF false AND NOT EXISTS ('],
        [RECHECK, 'IF false THEN'],
      ]),
    async witness({ normal }) {
      const v = await witnessVendor(normal, [{ startInMinutes: 120 }]);
      await claim(normal, { slot: v.slots[0], customer: v.customers[0] });
      return expectOutcome(
        'BOOKING_CONFLICT',
        await claim(normal, { slot: v.slots[0], customer: v.customers[1] }),
        'a second claim on a full slot of capacity 1',
      );
    },
  },
  {
    id: 'claim-without-slot-lock',
    title: 'claim_slot checks capacity without locking the slot row first',
    language: 'sql',
    invariants: ['I1', 'I3'],
    phase: 1,
    expectedCatcher: 'phase 1 contention rounds (parallel connections behind a barrier)',
    source: { file: 'migrations/0006_engine_hardening.sql', original: SLOT_LOCK, replacement: 'PERFORM 1;' },
    apply: (pool) => rewriteClaim(pool, [[SLOT_LOCK, 'PERFORM 1;']]),
    async witness({ normal }) {
      // A KEY SHARE lock lets the booking's foreign key and the counter's update through, but not FOR UPDATE.
      const v = await witnessVendor(normal, [{ startInMinutes: 120 }]);
      const got = await whileLocked(normal, 'SELECT 1 FROM slots WHERE id = $1 FOR KEY SHARE', [v.slots[0]], (client) =>
        client.query('SELECT claim_slot($1, $2, false, NULL, NULL, NULL, $3, $4, $5)', [v.slots[0], v.customers[0], 'operator', 'witness', 'test']),
      );
      return expectOutcome('blocked', got, 'a claim while another transaction holds the slot row');
    },
  },
  {
    id: 'vendor-overlap-allowed',
    title: "the exclusion constraint on a vendor's overlapping bookings dropped",
    language: 'sql',
    invariants: ['I2'],
    phase: 1,
    expectedCatcher: 'SimCity SC-10 guard probes (concurrent claims on overlapping slots of one vendor)',
    source: { file: 'migrations/0002_slots_bookings.sql', original: 'CONSTRAINT bookings_vendor_no_overlap EXCLUDE USING gist (', replacement: '(dropped)' },
    apply: (pool) =>
      alterGuard(pool, constraintExists('bookings', 'bookings_vendor_no_overlap'), 'ALTER TABLE bookings DROP CONSTRAINT bookings_vendor_no_overlap'),
    async witness({ normal }) {
      const v = await witnessVendor(normal, [{ startInMinutes: 120 }, { startInMinutes: 150 }]);
      await claim(normal, { slot: v.slots[0], customer: v.customers[0] });
      return expectOutcome(
        'BOOKING_CONFLICT',
        await claim(normal, { slot: v.slots[1], customer: v.customers[1] }),
        'a claim on a slot overlapping a booked one of the same vendor',
      );
    },
  },
  {
    id: 'cancel-keeps-slot-taken',
    title: 'cancel_booking cancels without giving the seat back',
    language: 'sql',
    invariants: ['I3'],
    phase: 4,
    expectedCatcher: "the invariant check ending phase 4 (rapid repeated cancels), or phase 7's nightly checks",
    source: { file: 'migrations/0004_booking_functions.sql', original: CANCEL_COUNTER, replacement: 'PERFORM 1;' },
    apply: (pool) => rewriteFunction(pool, CANCEL_BOOKING, CANCEL_COUNTER, 'PERFORM 1;'),
    async witness({ normal }) {
      const v = await witnessVendor(normal, [{ startInMinutes: 120 }], 1);
      const booked = await claimAndId(normal, v.slots[0]!, v.customers[0]!);
      await cancelBooking(normal, { booking: booked, reason: 'witness' }, WITNESS_ACTOR);
      const n = await bookedCount(normal, v.slots[0]!);
      return { held: n === 0, observed: `booked_count after a cancel: ${n} (the real engine: 0)` };
    },
  },
  {
    id: 'reschedule-keeps-old-seat',
    title: 'reschedule_booking takes the new seat without releasing the old one',
    language: 'sql',
    invariants: ['I3'],
    phase: 1,
    expectedCatcher: 'phase 1 reschedule race and SimCity SC-4 (slot-coherence oracle)',
    source: { file: 'migrations/0006_engine_hardening.sql', original: RESCHEDULE_OLD_COUNTER, replacement: 'PERFORM 1;' },
    apply: (pool) => rewriteFunction(pool, RESCHEDULE_BOOKING, RESCHEDULE_OLD_COUNTER, 'PERFORM 1;'),
    async witness({ normal }) {
      const v = await witnessVendor(normal, [{ startInMinutes: 120 }, { startInMinutes: 240 }], 1);
      const booked = await claimAndId(normal, v.slots[0]!, v.customers[0]!);
      await rescheduleBooking(normal, { booking: booked, slot: v.slots[1] }, WITNESS_ACTOR);
      const n = await bookedCount(normal, v.slots[0]!);
      return { held: n === 0, observed: `the old slot's booked_count after a reschedule: ${n} (the real engine: 0)` };
    },
  },
  {
    id: 'expired-hold-keeps-seat',
    title: 'hold expiry marks holds expired but never gives their capacity back',
    language: 'sql',
    invariants: ['I3', 'I9'],
    phase: 5,
    expectedCatcher: 'phase 5: the process dies between hold and confirm, reconcile releases every hold',
    source: { file: 'migrations/0006_engine_hardening.sql', original: EXPIRY_COUNTER, replacement: 'SET booked_count = booked_count' },
    apply: (pool) => rewriteFunction(pool, EXPIRE_ON_SLOT, EXPIRY_COUNTER, 'SET booked_count = booked_count'),
    witness: ({ simulation }) => expiredHoldWitness(simulation),
  },
  {
    id: 'claim-blocked-by-expired-hold',
    title: 'claim_slot no longer frees expired holds on its slot before checking capacity',
    language: 'sql',
    invariants: ['I9'],
    phase: 3,
    expectedCatcher: "phase 3: a hold's TTL runs on the database clock (moved past it, the slot is free again)",
    source: { file: 'migrations/0006_engine_hardening.sql', original: FREE_EXPIRED_ON_SLOT, replacement: 'PERFORM 1;' },
    apply: (pool) => rewriteClaim(pool, [[FREE_EXPIRED_ON_SLOT, 'PERFORM 1;']]),
    witness: ({ simulation }) => expiredHoldWitness(simulation),
  },
  {
    id: 'claim-trusts-past-slots',
    title: 'claim_slot without its two "slot already started" checks',
    language: 'sql',
    invariants: ['I5'],
    phase: 3,
    expectedCatcher: 'phase 3: past slots and the NOW boundary',
    source: { file: 'migrations/0006_engine_hardening.sql', original: PAST_BEFORE_LOCK, replacement: 'IF false THEN' },
    apply: (pool) =>
      rewriteClaim(pool, [
        [PAST_BEFORE_LOCK, 'IF false THEN'],
        [PAST_AFTER_LOCK, 'IF false THEN'],
      ]),
    async witness({ simulation }) {
      const v = await witnessVendor(simulation, [{ startInMinutes: 5 }], 1);
      await advanceClock(simulation, 10 * 60_000);
      return expectOutcome(
        'PAST_SLOT',
        await claim(simulation, { slot: v.slots[0], customer: v.customers[0] }),
        'a claim on a slot that started 5 minutes ago',
      );
    },
  },
  {
    id: 'reschedule-into-the-past',
    title: 'reschedule_booking moves bookings into slots that already started',
    language: 'sql',
    invariants: ['I5'],
    phase: 3,
    expectedCatcher: 'phase 3: rescheduling into a slot that started is refused',
    source: { file: 'migrations/0006_engine_hardening.sql', original: RESCHEDULE_PAST, replacement: 'IF false THEN' },
    apply: (pool) => rewriteFunction(pool, RESCHEDULE_BOOKING, RESCHEDULE_PAST, 'IF false THEN'),
    async witness({ simulation }) {
      const v = await witnessVendor(simulation, [{ startInMinutes: 5 }, { startInMinutes: 600 }], 1);
      const booked = await claimAndId(simulation, v.slots[1]!, v.customers[0]!);
      await advanceClock(simulation, 10 * 60_000);
      const got = await outcomeOf(() => rescheduleBooking(simulation, { booking: booked, slot: v.slots[0] }, WITNESS_ACTOR));
      return expectOutcome('PAST_SLOT', got, 'a reschedule into a slot that started 5 minutes ago');
    },
  },
  {
    id: 'idempotency-key-not-unique',
    title: 'the unique index on idempotency keys dropped (the lookup before the insert kept)',
    language: 'sql',
    invariants: ['I6'],
    phase: 1,
    expectedCatcher: 'SimCity SC-10 guard probes (one key retried concurrently on different slots)',
    source: {
      file: 'migrations/0006_engine_hardening.sql',
      original: 'CREATE UNIQUE INDEX bookings_idempotency_key_unique ON bookings (idempotency_key) WHERE idempotency_key IS NOT NULL;',
      replacement: '(dropped)',
    },
    apply: (pool) => alterGuard(pool, indexExists('bookings_idempotency_key_unique'), 'DROP INDEX bookings_idempotency_key_unique'),
    async witness({ normal }) {
      // The first request is still in flight (uncommitted) when the second, with the same key, arrives
      // at another vendor (keys are global; another vendor's audit chain keeps the two from queueing on one head).
      const first = await witnessVendor(normal, [{ startInMinutes: 120 }], 1);
      const second = await witnessVendor(normal, [{ startInMinutes: 120 }], 0);
      const key = `witness-${first.vendorId}`;
      const call = 'SELECT claim_slot($1, $2, false, NULL, NULL, $3, $4, $5, $6)';
      const got = await whileLocked(normal, call, [first.slots[0], first.customers[0], key, 'operator', 'witness', 'test'], (client) =>
        client.query(call, [second.slots[0], first.customers[0], key, 'operator', 'witness', 'test']),
      );
      return expectOutcome('blocked', got, 'a second request with the key of an uncommitted one');
    },
  },
  {
    id: 'request-hash-ignores-slot',
    title: 'the idempotency request hash leaves out the slot and the customer',
    language: 'sql',
    invariants: ['I6'],
    phase: 1,
    expectedCatcher: 'SimCity SC-10 guard probes (one key with a different request)',
    source: { file: 'migrations/0041_claim_request_hash.sql', original: HASH_FIELDS, replacement: "'customer_id', NULL::uuid" },
    apply: (pool) => rewriteFunction(pool, CLAIM_REQUEST_HASH, HASH_FIELDS, "'customer_id', NULL::uuid"),
    async witness({ normal }) {
      const v = await witnessVendor(normal, [{ startInMinutes: 120 }, { startInMinutes: 240 }], 1);
      const key = `witness-${v.vendorId}`;
      await claim(normal, { slot: v.slots[0], customer: v.customers[0], idempotencyKey: key });
      return expectOutcome(
        'IDEMPOTENCY_MISMATCH',
        await claim(normal, { slot: v.slots[1], customer: v.customers[0], idempotencyKey: key }),
        'the same key for another slot',
      );
    },
  },
  {
    id: 'request-hash-ignores-intent',
    title: 'the idempotency request hash keeps the slot and the customer but leaves out hold, TTL and payment method',
    language: 'sql',
    invariants: ['I6'],
    phase: 1,
    expectedCatcher: 'SimCity SC-10 change probes (one key, same slot and customer, a hold instead of a booking)',
    source: { file: 'migrations/0055_claim_path_plpgsql.sql', original: HASH_INTENT, replacement: "'hold', NULL::boolean, 'hold_ttl_seconds', NULL::integer," },
    apply: async (pool) => {
      await rewriteFunction(pool, CLAIM_REQUEST_HASH, HASH_INTENT, "'hold', NULL::boolean, 'hold_ttl_seconds', NULL::integer,");
      await rewriteFunction(pool, CLAIM_REQUEST_HASH, HASH_METHOD, "'payment_method', NULL::text)");
    },
    async witness({ normal }) {
      const v = await witnessVendor(normal, [{ startInMinutes: 120, capacity: 2 }], 1);
      const key = `witness-${v.vendorId}`;
      await claim(normal, { slot: v.slots[0], customer: v.customers[0], idempotencyKey: key });
      return expectOutcome(
        'IDEMPOTENCY_MISMATCH',
        await claim(normal, { slot: v.slots[0], customer: v.customers[0], idempotencyKey: key, hold: true }),
        'the same key, slot and customer asking for a hold instead of a booking',
      );
    },
  },
];

async function claimAndId(pool: Pool, slot: string, customer: string, hold = false): Promise<string> {
  return (await claimSlot(pool, { slot, customer, hold }, WITNESS_ACTOR)).booking.id;
}

/** A hold with the default TTL (10 min), the clock moved 11 minutes on, another customer claims the slot. */
async function expiredHoldWitness(simulation: Pool): Promise<{ held: boolean; observed: string }> {
  const v = await witnessVendor(simulation, [{ startInMinutes: 600 }]);
  await claimAndId(simulation, v.slots[0]!, v.customers[0]!, true);
  await advanceClock(simulation, 11 * 60_000);
  return expectOutcome('OK', await claim(simulation, { slot: v.slots[0], customer: v.customers[1] }), 'a claim on a slot whose only hold expired');
}
