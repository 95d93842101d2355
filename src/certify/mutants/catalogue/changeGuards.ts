// Mutants of the guards on changing a booking after it exists: the version
// a caller read (optimistic concurrency), and what a reschedule must keep
// (a card booking's price, a hold's deadline). Each slipped past certify
// before SC-10's change probes (src/simcity/drivers/guardProbeChanges.ts),
// because every reschedule certify drove was between slots of one price,
// on a confirmed booking, with no expected version.

import { advanceClock } from '../../../engine/clock.js';
import { cancelBooking, claimSlot, confirmBooking, rescheduleBooking } from '../../../engine/bookings.js';
import { expectOutcome, one, outcomeOf, WITNESS_ACTOR, witnessVendor } from '../fixtures.js';
import { rewriteFunction } from '../sqlEdit.js';
import type { Mutant } from '../types.js';
import { CLAIM_SLOT, CONFIRM_BOOKING, EXPIRE_ON_SLOT, LOCK_BOOKING_FOR_CHANGE, RESCHEDULE_BOOKING } from './signatures.js';

const VERSION_CHECK = 'v_booking.version <> p_expected_version';
const RESCHEDULE_PRICE = "v_new.price_cents <> v_booking.amount_cents AND v_booking.payment_method <> 'pay_on_arrival'";
const RESCHEDULE_HOLD_DEADLINE = 'least(hold_expires_at, v_new.starts_at)';
const HOLD_CAPPED_AT_START = 'least(v_now + make_interval(secs => v_ttl), v_slot.starts_at)';
const CONFIRM_TTL_CHECK = 'IF v_booking.hold_expires_at <= bookiji_now() THEN';
const ACTOR_RESTORED = 'IF v_saved_kind IS NOT NULL THEN';
const RENEWED_DEADLINE = "least(bookiji_now() + make_interval(secs => engine_limit('hold_ttl_seconds_default')), v_new.starts_at)";

export const CHANGE_GUARD_MUTANTS: Mutant[] = [
  {
    id: 'stale-version-accepted',
    title: 'cancel and confirm refuse only a version newer than the booking, so a caller that read an older one changes it anyway',
    language: 'sql',
    invariants: ['I10'],
    phase: 1,
    expectedCatcher: 'SimCity SC-10 change probes (cancel with the version read before a reschedule)',
    source: { file: 'migrations/0004_booking_functions.sql', original: VERSION_CHECK, replacement: 'v_booking.version < p_expected_version' },
    apply: (pool) => rewriteFunction(pool, LOCK_BOOKING_FOR_CHANGE, VERSION_CHECK, 'v_booking.version < p_expected_version'),
    async witness({ normal }) {
      const v = await witnessVendor(normal, [{ startInMinutes: 120 }, { startInMinutes: 240 }], 1);
      const { booking } = await claimSlot(normal, { slot: v.slots[0], customer: v.customers[0] }, WITNESS_ACTOR);
      await rescheduleBooking(normal, { booking: booking.id, slot: v.slots[1] }, WITNESS_ACTOR);
      const got = await outcomeOf(() => cancelBooking(normal, { booking: booking.id, reason: 'witness', expectedVersion: booking.version }, WITNESS_ACTOR));
      return expectOutcome('VERSION_CONFLICT', got, 'a cancel with the version read before a reschedule');
    },
  },
  {
    id: 'reschedule-reprices-card-booking',
    title: 'reschedule_booking lets a card booking move to a slot of another price (its payment stays at the old amount)',
    language: 'sql',
    invariants: ['I4'],
    phase: 1,
    expectedCatcher: 'SimCity SC-10 change probes (a card hold moved to a dearer slot)',
    source: { file: 'migrations/0006_engine_hardening.sql', original: RESCHEDULE_PRICE, replacement: "… AND v_booking.payment_method = 'free'" },
    apply: (pool) =>
      rewriteFunction(pool, RESCHEDULE_BOOKING, RESCHEDULE_PRICE, "v_new.price_cents <> v_booking.amount_cents AND v_booking.payment_method = 'free'"),
    async witness({ normal }) {
      const v = await witnessVendor(
        normal,
        [
          { startInMinutes: 120, priceCents: 3000 },
          { startInMinutes: 240, priceCents: 20000 },
        ],
        1,
      );
      const { booking } = await claimSlot(normal, { slot: v.slots[0], customer: v.customers[0], hold: true, paymentMethod: 'card' }, WITNESS_ACTOR);
      const got = await outcomeOf(() => rescheduleBooking(normal, { booking: booking.id, slot: v.slots[1] }, WITNESS_ACTOR));
      return expectOutcome('VALIDATION_ERROR', got, 'a card hold of 3000 cents moved to a slot priced 20000');
    },
  },
  {
    id: 'reschedule-renews-hold',
    title: 'reschedule_booking gives a moved hold a fresh default TTL instead of keeping its deadline',
    language: 'sql',
    invariants: ['I9'],
    phase: 1,
    expectedCatcher: "SimCity SC-10 change probes (a hold's deadline before and after a reschedule)",
    source: { file: 'migrations/0006_engine_hardening.sql', original: RESCHEDULE_HOLD_DEADLINE, replacement: RENEWED_DEADLINE },
    apply: (pool) => rewriteFunction(pool, RESCHEDULE_BOOKING, RESCHEDULE_HOLD_DEADLINE, RENEWED_DEADLINE),
    async witness({ normal }) {
      const v = await witnessVendor(normal, [{ startInMinutes: 120 }, { startInMinutes: 240 }], 1);
      const { booking } = await claimSlot(normal, { slot: v.slots[0], customer: v.customers[0], hold: true, holdTtlSeconds: 60 }, WITNESS_ACTOR);
      const moved = await rescheduleBooking(normal, { booking: booking.id, slot: v.slots[1] }, WITNESS_ACTOR);
      const before = booking.holdExpiresAt?.toISOString();
      const after = moved.holdExpiresAt?.toISOString();
      return { held: before === after, observed: `a 60 s hold's deadline ${before}, after a reschedule ${after} (the real engine keeps it)` };
    },
  },
  {
    id: 'confirm-accepts-expired-hold',
    title: 'confirm_booking confirms a hold past its TTL that no claim or sweep has expired yet',
    language: 'sql',
    invariants: ['I9'],
    phase: 3,
    expectedCatcher: "phase 3: SimCity SC-3 expired_hold_claim (the holder's confirm 1 s after the TTL)",
    source: { file: 'migrations/0006_engine_hardening.sql', original: CONFIRM_TTL_CHECK, replacement: 'IF false THEN' },
    apply: (pool) => rewriteFunction(pool, CONFIRM_BOOKING, CONFIRM_TTL_CHECK, 'IF false THEN'),
    async witness({ simulation }) {
      const v = await witnessVendor(simulation, [{ startInMinutes: 600 }], 1);
      const { booking } = await claimSlot(simulation, { slot: v.slots[0], customer: v.customers[0], hold: true, holdTtlSeconds: 30 }, WITNESS_ACTOR);
      await advanceClock(simulation, 31_000);
      return expectOutcome(
        'HOLD_EXPIRED',
        await outcomeOf(() => confirmBooking(simulation, { booking: booking.id }, WITNESS_ACTOR)),
        'a confirm 1 s after the TTL',
      );
    },
  },
  {
    id: 'claim-after-expiry-attributed-to-system',
    title: "a claim that frees an expired hold first is recorded as the system's act (the caller's actor not restored)",
    language: 'sql',
    invariants: ['I8'],
    phase: 3,
    expectedCatcher: "phase 3: SimCity SC-3 expired_hold_claim (the winning claim's transition and audit rows name the claimant)",
    source: { file: 'migrations/0043_claim_fewer_calls.sql', original: ACTOR_RESTORED, replacement: 'IF false THEN' },
    apply: (pool) => rewriteFunction(pool, EXPIRE_ON_SLOT, ACTOR_RESTORED, 'IF false THEN'),
    async witness({ simulation }) {
      const v = await witnessVendor(simulation, [{ startInMinutes: 600 }], 2);
      await claimSlot(simulation, { slot: v.slots[0], customer: v.customers[0], hold: true, holdTtlSeconds: 30 }, WITNESS_ACTOR);
      await advanceClock(simulation, 31_000);
      const claimant = { kind: 'customer' as const, id: 'witness-claimant', source: 'test' as const };
      const { booking } = await claimSlot(simulation, { slot: v.slots[0], customer: v.customers[1] }, claimant);
      const row = await one<{ actor: string }>(
        simulation,
        `SELECT actor_kind || ':' || coalesce(actor_id, '') AS actor FROM booking_transitions WHERE booking_id = $1 AND from_state IS NULL`,
        [booking.id],
      );
      return {
        held: row.actor === 'customer:witness-claimant',
        observed: `the claim's transition names ${row.actor} (the real engine: customer:witness-claimant)`,
      };
    },
  },
  {
    id: 'hold-outlives-slot-start',
    title: "claim_slot no longer caps a hold's deadline at its slot's start",
    language: 'sql',
    invariants: ['I9'],
    phase: 1,
    expectedCatcher: 'SimCity SC-10 change probes (a 24 h hold on a slot starting sooner)',
    source: { file: 'migrations/0052_claim_expiry_probe.sql', original: HOLD_CAPPED_AT_START, replacement: 'v_now + make_interval(secs => v_ttl)' },
    apply: (pool) => rewriteFunction(pool, CLAIM_SLOT, HOLD_CAPPED_AT_START, 'v_now + make_interval(secs => v_ttl)'),
    async witness({ normal }) {
      const v = await witnessVendor(normal, [{ startInMinutes: 30 }], 1);
      const { booking } = await claimSlot(normal, { slot: v.slots[0], customer: v.customers[0], hold: true, holdTtlSeconds: 3600 }, WITNESS_ACTOR);
      const slot = await one<{ starts_at: Date }>(normal, 'SELECT starts_at FROM slots WHERE id = $1', [v.slots[0]]);
      const deadline = booking.holdExpiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
      return {
        held: deadline <= slot.starts_at.getTime(),
        observed: `a 1 h hold on a slot starting in 30 min ends ${booking.holdExpiresAt?.toISOString()}; the slot starts ${slot.starts_at.toISOString()}`,
      };
    },
  },
];
