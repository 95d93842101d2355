// Phase 1, atomic slot: one slot can never be held or booked by more
// customers than its capacity, whatever the concurrency. Real parallel
// connections race behind a barrier for a capacity-1 slot (exactly one
// winner) and a capacity-N slot (exactly N); reschedules race into one free
// slot together with a fresh claim (exactly one gets it); then the SimCity
// catalogue's phase-1 scenarios (SC-1 double-booking attack, SC-4
// reschedule) run with their oracles.

import type { Pool } from '../../db/pool.js';
import { claimSlot, rescheduleBooking } from '../../engine/bookings.js';
import { BookijiError } from '../../errors.js';
import type { PhaseContext } from '../context.js';
import { countBy, Evidence, percentile } from '../evidence.js';
import { runPhaseCatalogue } from '../scenarios/simcity.js';
import type { Check } from '../types.js';
import { checkInvariants, customerActor, newCustomers, newSlot, newVendor, race, warm } from './shared.js';

export interface ContentionRound {
  name: string;
  contenders: number;
  capacity: number;
  winners: number;
  conflicts: number;
  other: number;
  activeInDatabase: number;
  bookedCount: number;
  p50Ms: number;
  p99Ms: number;
}

export interface PhaseOutcome {
  checks: Check[];
  numbers: Record<string, number | string>;
  series?: Record<string, unknown>;
}

async function contentionRound(ctx: PhaseContext, name: string, capacity: number): Promise<ContentionRound> {
  const pool = ctx.normal.pool;
  const n = ctx.params.contendersPerRound;
  const vendor = await newVendor(pool, 'atomic');
  const slot = await newSlot(pool, vendor, { startInMinutes: 24 * 60, capacity });
  const customers = await newCustomers(pool, 'atomic', n);
  await warm(pool, n);
  const results = await race(n, (i) => claimSlot(pool, { slot: slot.id, customer: customers[i]!.id, hold: i % 2 === 0 }, customerActor(customers[i]!)));
  const codes = results.map((r) => (r.result.status === 'fulfilled' ? 'OK' : r.result.reason instanceof BookijiError ? r.result.reason.code : 'UNEXPECTED'));
  const counts = countBy(codes, (c) => c);
  const truth = await pool.query(
    `SELECT (SELECT count(*) FROM bookings WHERE vendor_id = $1 AND slot_id = $2 AND state IN ('held', 'confirmed')) AS active,
            (SELECT booked_count FROM slots WHERE vendor_id = $1 AND id = $2) AS booked`,
    [vendor.id, slot.id],
  );
  const latencies = results.map((r) => r.ms).sort((a, b) => a - b);
  return {
    name,
    contenders: n,
    capacity,
    winners: counts.OK ?? 0,
    conflicts: counts.BOOKING_CONFLICT ?? 0,
    other: n - (counts.OK ?? 0) - (counts.BOOKING_CONFLICT ?? 0),
    activeInDatabase: Number(truth.rows[0].active),
    bookedCount: Number(truth.rows[0].booked),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

function roundPassed(r: ContentionRound): boolean {
  return (
    r.winners === r.capacity && r.conflicts === r.contenders - r.capacity && r.other === 0 && r.activeInDatabase === r.capacity && r.bookedCount === r.capacity
  );
}

/** Two reschedules and a new claim race for one free slot: exactly one wins and nobody loses their place. */
async function rescheduleRace(pool: Pool): Promise<{ passed: boolean; detail: string; numbers: Record<string, number> }> {
  const vendor = await newVendor(pool, 'reschedule');
  const [a, b, target] = [
    await newSlot(pool, vendor, { startInMinutes: 48 * 60 }),
    await newSlot(pool, vendor, { startInMinutes: 50 * 60 }),
    await newSlot(pool, vendor, { startInMinutes: 52 * 60 }),
  ];
  const customers = await newCustomers(pool, 'reschedule', 3);
  const x = await claimSlot(pool, { slot: a.id, customer: customers[0]!.id }, customerActor(customers[0]!));
  const y = await claimSlot(pool, { slot: b.id, customer: customers[1]!.id }, customerActor(customers[1]!));
  await warm(pool, 3);
  const results = await race<unknown>(3, (i) =>
    i === 2
      ? claimSlot(pool, { slot: target.id, customer: customers[2]!.id }, customerActor(customers[2]!))
      : rescheduleBooking(pool, { booking: (i === 0 ? x : y).booking.id, slot: target.id }, customerActor(customers[i]!)),
  );
  const winners = results.filter((r) => r.result.status === 'fulfilled').length;
  const conflicts = results.filter(
    (r) => r.result.status === 'rejected' && r.result.reason instanceof BookijiError && r.result.reason.code === 'BOOKING_CONFLICT',
  ).length;
  const truth = await pool.query(
    `SELECT s.id, s.booked_count, (SELECT count(*) FROM bookings b WHERE b.vendor_id = s.vendor_id AND b.slot_id = s.id AND b.state IN ('held', 'confirmed')) AS active
     FROM slots s WHERE s.vendor_id = $1`,
    [vendor.id],
  );
  const targetRow = truth.rows.find((r) => r.id === target.id);
  const coherent = truth.rows.every((r) => Number(r.booked_count) === Number(r.active));
  const totalActive = truth.rows.reduce((s, r) => s + Number(r.active), 0);
  // The two rescheduled bookings stay active wherever they ended; the newcomer adds one only if it won.
  const newcomerWon = results[2]!.result.status === 'fulfilled' ? 1 : 0;
  const expectedActive = 2 + newcomerWon;
  return {
    passed: winners === 1 && conflicts === 2 && Number(targetRow?.active) === 1 && coherent && totalActive === expectedActive,
    detail: `${winners} of 3 got the slot (${newcomerWon ? 'the new claim' : 'a reschedule'}), ${conflicts} BOOKING_CONFLICT; target slot has ${String(targetRow?.active)} active booking(s); counters ${coherent ? 'match' : 'do not match'} the bookings on all three slots; ${totalActive} active bookings in all (expected ${expectedActive}: nobody lost their place)`,
    numbers: { winners, conflicts, totalActive },
  };
}

export async function runAtomicSlot(ctx: PhaseContext): Promise<PhaseOutcome> {
  const evidence = new Evidence();
  const pool = ctx.normal.pool;
  const rounds: ContentionRound[] = [];

  await evidence.check(
    `capacity 1: ${ctx.params.contentionRounds} rounds of ${ctx.params.contendersPerRound} parallel connections racing for one slot`,
    async () => {
      for (let i = 0; i < ctx.params.contentionRounds; i++) rounds.push(await contentionRound(ctx, `capacity 1, round ${i + 1}`, 1));
      const bad = rounds.filter((r) => !roundPassed(r));
      return {
        passed: bad.length === 0,
        detail:
          bad.length === 0
            ? `every round: exactly 1 winner, ${ctx.params.contendersPerRound - 1} BOOKING_CONFLICT, 1 active booking and booked_count 1 in the database`
            : `broken rounds: ${bad.map((r) => `${r.name}: ${r.winners} winners, ${r.conflicts} conflicts, ${r.other} other errors, ${r.activeInDatabase} active bookings, booked_count ${r.bookedCount}`).join('; ')}`,
        numbers: {
          rounds: rounds.length,
          contenders: ctx.params.contendersPerRound,
          winnersTotal: rounds.reduce((s, r) => s + r.winners, 0),
          doubleBookedRounds: rounds.filter((r) => r.activeInDatabase > 1).length,
        },
      };
    },
  );

  const capacity = ctx.params.contentionCapacity;
  await evidence.check(`capacity ${capacity}: ${ctx.params.contendersPerRound} parallel connections racing for one slot`, async () => {
    const round = await contentionRound(ctx, `capacity ${capacity}`, capacity);
    rounds.push(round);
    return {
      passed: roundPassed(round),
      detail: `${round.winners} winners (capacity ${capacity}), ${round.conflicts} BOOKING_CONFLICT, ${round.other} other errors; ${round.activeInDatabase} active bookings and booked_count ${round.bookedCount} in the database`,
      numbers: { contenders: round.contenders, capacity, winners: round.winners, conflicts: round.conflicts },
    };
  });

  await evidence.check('reschedule race: two bookings move into one free slot while a new customer claims it', () => rescheduleRace(pool));

  await runPhaseCatalogue(evidence, ctx, 1);
  await checkInvariants(evidence, pool, 'normal');

  const all = rounds.flatMap((r) => [r.p50Ms, r.p99Ms]);
  return {
    checks: evidence.checks,
    numbers: {
      contentionRounds: rounds.length,
      contendersPerRound: ctx.params.contendersPerRound,
      doubleBookings: rounds.reduce((s, r) => s + Math.max(0, r.activeInDatabase - r.capacity), 0),
      worstP99Ms: all.length ? Math.max(...all) : 0,
    },
    series: { contention: rounds },
  };
}
