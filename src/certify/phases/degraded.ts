// Phase 5, degraded reality: when connections die, the truth survives. A
// connection killed while its claim waits inside the transaction, or after
// the claim ran but before COMMIT, leaves nothing behind and its caller gets
// an explicit DEPENDENCY_UNAVAILABLE; every session of the database killed
// in the middle of a parallel workload loses no acknowledged booking and
// corrupts no counter; and a process that dies between hold and confirm
// leaves holds that reconcile releases exactly once, even run twice at once,
// after which the slots can be booked again. Payment-provider failures are
// phase 2's (SC-2).

import pg from 'pg';
import { fromDatabaseError } from '../../errors.js';
import { claimSlot } from '../../engine/bookings.js';
import { advanceClock } from '../../engine/clock.js';
import { expireHolds } from '../../engine/holds.js';
import type { Slot } from '../../engine/types.js';
import type { PhaseContext } from '../context.js';
import { countBy, Evidence, outcomeCode } from '../evidence.js';
import { fingerprint, sameFingerprint } from '../fingerprint.js';
import type { PhaseOutcome } from './atomicSlot.js';
import { checkInvariants, customerActor, newCustomers, newSlot, newVendor, race } from './shared.js';

/** How long to wait for victims to reach the point where they are killed, polling the server's own view. */
const VICTIM_WAIT_MS_MAX = 20_000;
const POLL_MS = 20;
const VICTIM_STATEMENT_MS_MAX = 30_000;

/** Reads on a pool whose connections were just killed: a dead idle connection may be handed out once before the pool notices. */
async function afterOutage<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (error) {
      if (attempt >= 5 || fromDatabaseError(error).code !== 'DEPENDENCY_UNAVAILABLE') throw error;
      await sleep(POLL_MS);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function openClient(connectionString: string, applicationName: string): Promise<pg.Client> {
  // A bound on every statement: a victim that is never killed must not hang the certification.
  const client = new pg.Client({ connectionString, application_name: applicationName, statement_timeout: VICTIM_STATEMENT_MS_MAX });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Waits until `count` sessions named `tag` are waiting on a lock; the server says so, no guessing with sleeps. */
async function waitForLockWaiters(admin: pg.Client, tag: string, count: number): Promise<number> {
  const deadline = Date.now() + VICTIM_WAIT_MS_MAX;
  for (;;) {
    const n = Number((await admin.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, [tag])).rows[0].n);
    if (n >= count || Date.now() > deadline) return n;
    await sleep(POLL_MS);
  }
}

async function terminate(admin: pg.Client, where: string, value: string): Promise<number> {
  const result = await admin.query(`SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE ${where} = $1 AND pid <> pg_backend_pid()`, [value]);
  return Number(result.rows[0].n);
}

export async function runDegraded(ctx: PhaseContext): Promise<PhaseOutcome> {
  const evidence = new Evidence();
  const pool = ctx.normal.pool;
  const admin = await openClient(ctx.adminConnectionString, 'bookiji-certify-admin');
  const numbers: Record<string, number | string> = {};
  try {
    const vendor = await newVendor(pool, 'degraded');
    const kills = ctx.params.killCount;

    await evidence.check(`${kills} connections killed while their claim waits inside its transaction`, async () => {
      const slot = await newSlot(pool, vendor, { startInMinutes: 20 * 60 });
      const customers = await newCustomers(pool, 'killwait', kills);
      const tag = `certify-victim-${ctx.seed}-a`;
      const locker = await openClient(ctx.normal.connectionString, 'bookiji-certify-locker');
      const victims = await Promise.all(customers.map(() => openClient(ctx.normal.connectionString, tag)));
      const before = await fingerprint(pool);
      try {
        await locker.query('BEGIN');
        await locker.query('SELECT 1 FROM slots WHERE vendor_id = $1 AND id = $2 FOR UPDATE', [vendor.id, slot.id]);
        const calls = victims.map((client, i) =>
          client
            .query(`SELECT claim_slot($1::uuid, $2::uuid, false, NULL, NULL, NULL, 'customer', $3::text, 'simcity')`, [slot.id, customers[i]!.id, customers[i]!.id])
            .then(() => 'OK', (error: unknown) => fromDatabaseError(error).code),
        );
        const waiting = await waitForLockWaiters(admin, tag, kills);
        const killed = await terminate(admin, 'application_name', tag);
        const codes = await Promise.all(calls);
        await locker.query('ROLLBACK');
        const unchanged = sameFingerprint(before, await fingerprint(pool));
        const recovered = await outcomeCode(() => claimSlot(pool, { slot: slot.id, customer: customers[0]!.id }, customerActor(customers[0]!)));
        const tally = countBy(codes, (c) => c);
        numbers.killedWaiting = killed;
        return {
          passed: waiting === kills && killed === kills && tally.DEPENDENCY_UNAVAILABLE === kills && unchanged && recovered === 'OK',
          detail: `${waiting} claims seen waiting on the slot's lock, ${killed} terminated; callers got ${JSON.stringify(tally)}; database ${unchanged ? 'unchanged' : 'CHANGED'}; the slot then booked normally (${recovered})`,
          numbers: { killed, waiting },
        };
      } finally {
        await Promise.all(victims.map((c) => c.end().catch(() => undefined)));
        await locker.end().catch(() => undefined);
      }
    });

    await evidence.check(`${kills} connections killed after the claim ran but before COMMIT`, async () => {
      // One vendor per victim: uncommitted claims of one vendor would queue on its audit chain's head.
      const slots: Slot[] = [];
      for (let i = 0; i < kills; i++) slots.push(await newSlot(pool, await newVendor(pool, 'killcommit'), { startInMinutes: 22 * 60 }));
      const customers = await newCustomers(pool, 'killcommit', kills);
      const tag = `certify-victim-${ctx.seed}-b`;
      const victims = await Promise.all(customers.map(() => openClient(ctx.normal.connectionString, tag)));
      const before = await fingerprint(pool);
      try {
        const claimed = await Promise.all(
          victims.map(async (client, i) => {
            await client.query('BEGIN');
            const r = await client.query(`SELECT booking FROM claim_slot($1::uuid, $2::uuid, false, NULL, NULL, NULL, 'customer', $3::text, 'simcity')`, [slots[i]!.id, customers[i]!.id, customers[i]!.id]);
            return r.rows[0].booking.id as string;
          }),
        );
        const killed = await terminate(admin, 'application_name', tag);
        const commits = await Promise.all(victims.map((client) => client.query('COMMIT').then(() => 'COMMITTED', (error: unknown) => fromDatabaseError(error).code)));
        const found = Number((await pool.query('SELECT count(*) AS n FROM bookings WHERE id = ANY($1::uuid[])', [claimed])).rows[0].n);
        const unchanged = sameFingerprint(before, await fingerprint(pool));
        const tally = countBy(commits, (c) => c);
        return {
          passed: killed === kills && found === 0 && unchanged && tally.DEPENDENCY_UNAVAILABLE === kills,
          detail: `${claimed.length} claims ran inside open transactions, ${killed} sessions terminated before COMMIT; COMMIT answered ${JSON.stringify(tally)}; ${found} of those bookings exist; database ${unchanged ? 'unchanged' : 'CHANGED'}`,
          numbers: { killed, bookingsLeft: found },
        };
      } finally {
        await Promise.all(victims.map((c) => c.end().catch(() => undefined)));
      }
    });

    await evidence.check('every session of the database killed in the middle of a parallel workload', async () => {
      const workers = 6;
      const perWorker = Math.max(6, kills * 2);
      const slots: Slot[] = [];
      for (let i = 0; i < workers * perWorker; i++) slots.push(await newSlot(pool, vendor, { startInMinutes: 40 * 60 + i * 60 }));
      const customers = await newCustomers(pool, 'restart', workers);
      // The workload runs on its own pool so the kill hits its connections between and during requests.
      const { createPool } = await import('../../db/pool.js');
      const workload = createPool({ connectionString: ctx.normal.connectionString, max: workers, applicationName: `certify-workload-${ctx.seed}` });
      try {
        const outcomes: string[] = [];
        const acknowledged: string[] = [];
        let completed = 0;
        let killed = 0;
        const killer = (async () => {
          // Kill once a third of the workload is done: the rest is still in flight or queued.
          while (completed < (workers * perWorker) / 3) await sleep(2);
          killed = await terminate(admin, 'datname', ctx.normal.name);
        })();
        await Promise.all(
          Array.from({ length: workers }, async (_, w) => {
            for (let k = 0; k < perWorker; k++) {
              const slot = slots[w * perWorker + k]!;
              try {
                const r = await claimSlot(workload, { slot: slot.id, customer: customers[w]!.id, hold: false }, customerActor(customers[w]!));
                acknowledged.push(r.booking.id);
                outcomes.push('OK');
              } catch (error) {
                outcomes.push(fromDatabaseError(error).code);
              }
              completed += 1;
            }
          }),
        );
        await killer;
        // The certifier's own pool lost its connections too; it must recover by itself.
        const present = Number((await afterOutage(() => pool.query('SELECT count(*) AS n FROM bookings WHERE id = ANY($1::uuid[])', [acknowledged]))).rows[0].n);
        const tally = countBy(outcomes, (c) => c);
        const explicit = outcomes.every((c) => c === 'OK' || c === 'DEPENDENCY_UNAVAILABLE');
        await afterOutage(() => workload.query('SELECT 1'));
        const spare = await newSlot(pool, vendor, { startInMinutes: 39 * 60 });
        const after = await outcomeCode(() => claimSlot(workload, { slot: spare.id, customer: customers[0]!.id }, customerActor(customers[0]!)));
        numbers.sessionsKilled = killed;
        return {
          passed: killed > 0 && present === acknowledged.length && explicit && after === 'OK',
          detail: `${killed} sessions of the database terminated a third of the way through ${outcomes.length} claims on ${workers} connections: ${JSON.stringify(tally)}; ${present} of ${acknowledged.length} acknowledged bookings exist; afterwards the same pool books normally (${after})`,
          numbers: { claims: outcomes.length, killed, acknowledged: acknowledged.length, present },
        };
      } finally {
        await workload.end().catch(() => undefined);
      }
    });

    await evidence.check('the process dies between hold and confirm: reconcile, run twice at once, releases every hold exactly once', async () => {
      const sim = ctx.simulation.pool;
      const simVendor = await newVendor(sim, 'crash');
      const holders = await newCustomers(sim, 'crash', kills);
      const [later] = await newCustomers(sim, 'crash-later', 1);
      const slots: Slot[] = [];
      for (let i = 0; i < kills; i++) slots.push(await newSlot(sim, simVendor, { startInMinutes: 4 * 24 * 60 + i * 60 }));
      for (let i = 0; i < kills; i++) await claimSlot(sim, { slot: slots[i]!.id, customer: holders[i]!.id, hold: true, holdTtlSeconds: 60 }, customerActor(holders[i]!));
      // The process that placed them is gone; nobody will confirm. Time passes.
      await advanceClock(sim, 120_000);
      const runs = await Promise.all([expireHolds(sim, { dryRun: false, actor: { kind: 'system', id: 'reconcile', source: 'reconcile' } }), expireHolds(sim, { dryRun: false, actor: { kind: 'system', id: 'reconcile', source: 'reconcile' } })]);
      // Other scenarios share the simulation database: count this vendor's releases only.
      const mine = runs.map((run) => run.filter((r) => r.vendorId === simVendor.id).length);
      const released = mine[0]! + mine[1]!;
      const truth = await sim.query(
        `SELECT (SELECT count(*) FROM bookings WHERE vendor_id = $1 AND state = 'held') AS held,
                (SELECT count(*) FROM booking_transitions WHERE vendor_id = $1 AND to_state = 'expired') AS expirations,
                (SELECT coalesce(sum(booked_count), 0) FROM slots WHERE vendor_id = $1) AS booked`,
        [simVendor.id],
      );
      const row = truth.rows[0];
      const rebook = await Promise.all(slots.map((s) => outcomeCode(() => claimSlot(sim, { slot: s.id, customer: later!.id, hold: true }, customerActor(later!)))));
      const rebooked = rebook.filter((c) => c === 'OK' || c === 'HOLD_LIMIT_REACHED').length;
      return {
        passed: released === kills && Number(row.held) === 0 && Number(row.expirations) === kills && Number(row.booked) === 0 && rebooked === kills,
        detail: `${kills} orphaned holds; two concurrent reconcile runs released ${mine[0]} + ${mine[1]} of them; ${String(row.expirations)} expiry transitions, ${String(row.held)} holds left, slot counters sum to ${String(row.booked)}; the slots take claims again: ${JSON.stringify(countBy(rebook, (c) => c))}`,
        numbers: { orphanedHolds: kills, released },
      };
    });

    await afterOutage(() => pool.query('SELECT 1'));
    await checkInvariants(evidence, pool, 'normal');
    await checkInvariants(evidence, ctx.simulation.pool, 'simulation');
  } finally {
    await admin.end().catch(() => undefined);
  }
  return { checks: evidence.checks, numbers };
}
