// Phase 3, time hostility: the database's clock is the only clock. Past
// slots are refused with PAST_SLOT and nothing written; at the NOW boundary a
// slot starting exactly at the transaction's instant is refused and one a
// microsecond later accepted; no engine function takes a time from the
// client, so clients whose clocks are hours off get the answers the database
// clock dictates; a hold's TTL runs on the database clock (moved forward on
// the simulation database); and vendors in zones crossing a DST change get
// every slot once, at the right wall time, in the generator and in storage.

import { DateTime } from 'luxon';
import { generateSlots } from '../../availability/index.js';
import { fromDatabaseError } from '../../errors.js';
import type { ScheduleRules } from '../../availability/index.js';
import { claimSlot, confirmBooking, rescheduleBooking } from '../../engine/bookings.js';
import { addSlot, refreshVendorSlots } from '../../engine/slots.js';
import { advanceClock, databaseNow } from '../../engine/clock.js';
import type { PhaseContext } from '../context.js';
import { Evidence, outcomeCode } from '../evidence.js';
import { fingerprint, sameFingerprint } from '../fingerprint.js';
import type { PhaseOutcome } from './atomicSlot.js';
import { CERTIFY_OPERATOR, checkInvariants, customerActor, newCustomers, newSlot, newVendor } from './shared.js';

const HOUR_MS = 3_600_000;
const DST_ZONES = ['Europe/Paris', 'America/New_York', 'Australia/Sydney'] as const;
const ENGINE_FUNCTIONS = ['claim_slot', 'confirm_booking', 'cancel_booking', 'reschedule_booking', 'expire_holds'];

/** The first local date, from `after`, whose UTC offset differs from the day before's. */
function nextTransitionDate(zone: string, after: Date): DateTime {
  let day = DateTime.fromJSDate(after, { zone }).startOf('day').plus({ days: 1 });
  for (let i = 0; i < 400; i++) {
    const next = day.plus({ days: 1 });
    if (next.set({ hour: 12 }).offset !== day.set({ hour: 12 }).offset) return next;
    day = next;
  }
  throw new Error(`no DST change within 400 days in ${zone}`);
}

function dstRules(zone: string, hours: Array<{ start: string; end: string }>): ScheduleRules {
  const weeklyHours = Object.fromEntries([1, 2, 3, 4, 5, 6, 7].map((d) => [d, hours])) as ScheduleRules['weeklyHours'];
  return { timezone: zone, weeklyHours, overrides: [], slotDurationMin: 60, bufferBeforeMin: 0, bufferAfterMin: 0, minNoticeMin: 0, maxDaysAhead: 366, capacityPerSlot: 1 };
}

export async function runTimeHostility(ctx: PhaseContext): Promise<PhaseOutcome> {
  const evidence = new Evidence();
  const pool = ctx.normal.pool;
  const vendor = await newVendor(pool, 'time');
  const [customer, other] = await newCustomers(pool, 'time', 2);
  const now = await databaseNow(pool);

  await evidence.check('past slots: booking, holding and rescheduling into a slot that started are refused, nothing written', async () => {
    const past = await addSlot(pool, { vendor: vendor.id, start: new Date(now.getTime() - 2 * HOUR_MS).toISOString(), end: new Date(now.getTime() - HOUR_MS).toISOString() }, CERTIFY_OPERATOR);
    const future = await newSlot(pool, vendor, { startInMinutes: 6 * 60 });
    const booked = await claimSlot(pool, { slot: future.id, customer: other!.id }, customerActor(other!));
    const before = await fingerprint(pool);
    const codes = [
      await outcomeCode(() => claimSlot(pool, { slot: past.id, customer: customer!.id }, customerActor(customer!))),
      await outcomeCode(() => claimSlot(pool, { slot: past.id, customer: customer!.id, hold: true }, customerActor(customer!))),
      await outcomeCode(() => rescheduleBooking(pool, { booking: booked.booking.id, slot: past.id }, customerActor(other!))),
    ];
    const unchanged = sameFingerprint(before, await fingerprint(pool));
    return {
      passed: codes.every((c) => c === 'PAST_SLOT') && unchanged,
      detail: `book, hold, reschedule into a slot that started 2 h ago: ${codes.join(', ')}; database ${unchanged ? 'unchanged' : 'CHANGED'}`,
      numbers: { attempts: codes.length, refused: codes.filter((c) => c === 'PAST_SLOT').length },
    };
  });

  await evidence.check('NOW boundary: a slot starting at the transaction\'s instant or within the transaction is refused, one starting after it accepted', async () => {
    const client = await pool.connect();
    const claim = async (slotId: string): Promise<string> => {
      await client.query('SAVEPOINT probe');
      try {
        await client.query(`SELECT claim_slot($1::uuid, $2::uuid, false, NULL, NULL, NULL, 'customer', $3::text, 'simcity')`, [slotId, customer!.id, customer!.id]);
        return 'OK';
      } catch (error) {
        return fromDatabaseError(error).code;
      } finally {
        await client.query('ROLLBACK TO SAVEPOINT probe');
      }
    };
    try {
      await client.query('BEGIN');
      const instant = (await client.query(`SELECT to_char(bookiji_now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS iso`)).rows[0];
      await client.query(`SELECT set_actor('operator', 'certify', 'simcity', 'NOW boundary probe', NULL)`);
      const insert = async (offset: string): Promise<string> =>
        (await client.query(`INSERT INTO slots (vendor_id, starts_at, ends_at) VALUES ($1, bookiji_now() + $2::interval, bookiji_now() + $2::interval + interval '20 minutes') RETURNING id`, [vendor.id, offset])).rows[0].id as string;
      // Slots at the instant T, a microsecond after it (begun by the time a
      // claim inside this transaction runs), and an hour after it. Each claim
      // is rolled back to its savepoint, so none blocks the next.
      const at = await insert('0');
      const within = await insert('1 microsecond');
      const later = await insert('1 hour');
      const codes = { at: await claim(at), within: await claim(within), later: await claim(later) };
      return {
        passed: codes.at === 'PAST_SLOT' && codes.within === 'PAST_SLOT' && codes.later === 'OK',
        detail: `transaction instant T = ${String(instant.iso)}: slot starting at T → ${codes.at}; slot starting at T + 1 µs, already begun by the time the claim ran inside the transaction → ${codes.within}; slot starting at T + 1 h → ${codes.later} (the probe transaction is rolled back)`,
      };
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
    }
  });

  await evidence.check('no engine function accepts a time from the client', async () => {
    const result = await pool.query(
      `SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS args,
              EXISTS (SELECT 1 FROM unnest(p.proargtypes) t WHERE t IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype, 'time'::regtype, 'timetz'::regtype)) AS takes_time
       FROM pg_proc p WHERE p.proname = ANY($1) AND p.pronamespace = current_schema()::regnamespace`,
      [ENGINE_FUNCTIONS],
    );
    const takingTime = result.rows.filter((r) => r.takes_time).map((r) => `${String(r.proname)}(${String(r.args)})`);
    const found = new Set(result.rows.map((r) => String(r.proname)));
    const missing = ENGINE_FUNCTIONS.filter((f) => !found.has(f));
    return {
      passed: takingTime.length === 0 && missing.length === 0,
      detail: takingTime.length === 0 && missing.length === 0
        ? `${ENGINE_FUNCTIONS.join(', ')}: no timestamp, date or time argument; every rule reads bookiji_now()`
        : `functions taking a client time: ${takingTime.join(', ') || 'none'}; missing: ${missing.join(', ') || 'none'}`,
    };
  });

  await evidence.check('clients with clocks hours off get the database clock\'s answers, whatever their session time zone', async () => {
    const startedTwoHoursAgo = await addSlot(pool, { vendor: vendor.id, start: new Date(now.getTime() - 2 * HOUR_MS + 1).toISOString(), end: new Date(now.getTime() - HOUR_MS + 1).toISOString() }, CERTIFY_OPERATOR);
    const inOneHour = await newSlot(pool, vendor, { startInMinutes: 60 + 7 });
    // A client 3 h behind believes the first slot is an hour in its future; a
    // client 3 h ahead believes the second has passed. Neither can say so:
    // the request carries no time. Each runs in a session with an exotic zone.
    const behind = await pool.connect();
    const ahead = await pool.connect();
    try {
      await behind.query(`SET TIME ZONE 'Pacific/Kiritimati'`);
      await ahead.query(`SET TIME ZONE 'America/Adak'`);
      const behindCode = await behind
        .query(`SELECT claim_slot($1::uuid, $2::uuid, false, NULL, NULL, NULL, 'customer', $3::text, 'simcity')`, [startedTwoHoursAgo.id, customer!.id, customer!.id])
        .then(() => 'OK', (error: { code?: string }) => (error.code === 'BK007' ? 'PAST_SLOT' : String(error.code)));
      const aheadCode = await ahead
        .query(`SELECT claim_slot($1::uuid, $2::uuid, false, NULL, NULL, NULL, 'customer', $3::text, 'simcity')`, [inOneHour.id, customer!.id, customer!.id])
        .then(() => 'OK', (error: { code?: string }) => String(error.code));
      return {
        passed: behindCode === 'PAST_SLOT' && aheadCode === 'OK',
        detail: `client 3 h behind (session zone Pacific/Kiritimati) booking a slot that started 2 h ago → ${behindCode}; client 3 h ahead (session zone America/Adak) booking a slot 67 min away → ${aheadCode}`,
      };
    } finally {
      await behind.query('RESET TIME ZONE').catch(() => undefined);
      await ahead.query('RESET TIME ZONE').catch(() => undefined);
      behind.release();
      ahead.release();
    }
  });

  await evidence.check('a hold\'s TTL runs on the database clock: moved past it, the hold cannot be confirmed and the slot is free again', async () => {
    const sim = ctx.simulation.pool;
    const simVendor = await newVendor(sim, 'ttl');
    const [holder, next] = await newCustomers(sim, 'ttl', 2);
    const slot = await newSlot(sim, simVendor, { startInMinutes: 3 * 24 * 60 });
    const hold = await claimSlot(sim, { slot: slot.id, customer: holder!.id, hold: true, holdTtlSeconds: 60 }, customerActor(holder!));
    const blocked = await outcomeCode(() => claimSlot(sim, { slot: slot.id, customer: next!.id }, customerActor(next!)));
    await advanceClock(sim, 61_000);
    const confirm = await outcomeCode(() => confirmBooking(sim, { booking: hold.booking.id }, customerActor(holder!)));
    const reclaim = await outcomeCode(() => claimSlot(sim, { slot: slot.id, customer: next!.id }, customerActor(next!)));
    return {
      passed: blocked === 'BOOKING_CONFLICT' && confirm === 'HOLD_EXPIRED' && reclaim === 'OK',
      detail: `while held: another claim → ${blocked}; clock moved 61 s past the 60 s TTL: confirm → ${confirm}, another customer's claim → ${reclaim}`,
    };
  });

  await evidence.check('slots past their start on the simulated clock are refused', async () => {
    const sim = ctx.simulation.pool;
    const simVendor = await newVendor(sim, 'clock');
    const [c] = await newCustomers(sim, 'clock', 1);
    const slot = await newSlot(sim, simVendor, { startInMinutes: 90 });
    await advanceClock(sim, 91 * 60_000);
    const code = await outcomeCode(() => claimSlot(sim, { slot: slot.id, customer: c!.id }, customerActor(c!)));
    return { passed: code === 'PAST_SLOT', detail: `slot 90 min ahead, clock moved 91 min: claim → ${code}` };
  });

  const dstNumbers: Record<string, number | string> = {};
  for (const zone of DST_ZONES) {
    await evidence.check(`DST in ${zone}: every slot once, at its wall time, in generation and in storage`, async () => {
      const transition = nextTransitionDate(zone, now);
      const from = transition.minus({ days: 2 }).startOf('day');
      const to = transition.plus({ days: 3 }).startOf('day');
      const days = Math.round(to.diff(from, 'days').days);
      // Day hours (08:00–12:00) never meet the change; the night range (00:00–06:00) always does.
      const day = generateSlots(dstRules(zone, [{ start: '08:00', end: '12:00' }]), { now, from: from.toJSDate(), to: to.toJSDate() });
      const wrongWall = day.filter((s) => !['08:00', '09:00', '10:00', '11:00'].includes(s.localStart));
      const perDate = new Map<string, number>();
      for (const s of day) perDate.set(s.localDate, (perDate.get(s.localDate) ?? 0) + 1);
      const badDates = [...perDate].filter(([, n]) => n !== 4);
      const night = generateSlots(dstRules(zone, [{ start: '00:00', end: '06:00' }]), { now, from: transition.startOf('day').toJSDate(), to: transition.endOf('day').toJSDate() });
      const nightRealMinutes = transition.set({ hour: 6 }).diff(transition.startOf('day'), 'minutes').minutes;
      const nightOk = night.length * 60 === nightRealMinutes && night.every((s, i) => s.endsAt.getTime() - s.startsAt.getTime() === HOUR_MS && (i === 0 || s.startsAt.getTime() === night[i - 1]!.endsAt.getTime()));

      const pool = ctx.normal.pool;
      const zoned = await newVendor(pool, 'dst', zone);
      const wanted = [...day, ...night].sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime());
      await refreshVendorSlots(pool, zoned.id, { from: from.toJSDate(), to: to.toJSDate() }, wanted.map((s) => ({ startsAt: s.startsAt, endsAt: s.endsAt, capacity: 1, priceCents: 0, currency: 'EUR' })), CERTIFY_OPERATOR);
      const stored = await pool.query(
        `SELECT to_char(starts_at AT TIME ZONE $2, 'YYYY-MM-DD HH24:MI') AS local, extract(epoch FROM ends_at - starts_at) AS seconds
         FROM slots WHERE vendor_id = $1 AND NOT legacy ORDER BY starts_at`,
        [zoned.id, zone],
      );
      const expected = wanted.map((s) => `${s.localDate} ${s.localStart}`);
      const storedLocal = stored.rows.map((r) => String(r.local));
      const storedOk = storedLocal.length === expected.length && storedLocal.every((l, i) => l === expected[i]) && stored.rows.every((r) => Number(r.seconds) === 3600);
      dstNumbers[`${zone} slots`] = wanted.length;
      const passed = day.length === days * 4 && wrongWall.length === 0 && badDates.length === 0 && nightOk && storedOk;
      return {
        passed,
        detail: `change on ${transition.toISODate()} (${transition.minus({ days: 1 }).set({ hour: 12 }).offsetNameShort} → ${transition.set({ hour: 12 }).offsetNameShort}): 08:00–12:00 over ${days} days gave ${day.length} slots (expected ${days * 4}, ${wrongWall.length} off their wall time, ${badDates.length} days without exactly 4); 00:00–06:00 on the change day gave ${night.length} one-hour slots back to back for ${nightRealMinutes} real minutes${nightOk ? '' : ' (WRONG)'}; stored ${storedLocal.length} slots, local times ${storedOk ? 'identical' : 'DIFFERENT'}`,
        numbers: { slots: wanted.length, nightSlots: night.length },
      };
    });
  }

  await checkInvariants(evidence, pool, 'normal');
  await checkInvariants(evidence, ctx.simulation.pool, 'simulation');
  return { checks: evidence.checks, numbers: { checks: evidence.checks.length, ...dstNumbers } };
}
