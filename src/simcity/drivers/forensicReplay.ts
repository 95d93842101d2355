// SC-7, forensics (scenarios/SC-7.json): messy histories, then bookings
// picked at random (seeded) from the run's own histories and reconstructed
// by src/forensics, then the audit log attacked. Every iteration opens with
// the two scripted messy histories (messyHistory.ts: holds and retries,
// refused confirmations, reschedules by customer and vendor, a
// cancellation; a card booking through payment, webhook duplicates and
// cancellation), runs a seeded walk of holds, retries, reschedules,
// confirmations, vendor moves, cancellations, refused card confirmations
// and holds left to expire, and closes, every iteration, with:
// - `reconstruct`: seeded picks among every booking the iteration made,
//   each reconstructed and compared with the database's own rows: no
//   unknowns, every transition in the timeline with its cause, actor and
//   source, the state, slot and previous slots the database has, the
//   customer redacted, a resolution (I10, forensics);
// - `tamper_audit`: inside a transaction that is rolled back, an audit row
//   of the vendor is updated through the append-only trigger (must be
//   refused), then edited with the trigger off, then a row deleted: each
//   must be reported by audit_verify and by the reconstruction (I8).

import type { Pool, Queryable } from '../../db/pool.js';
import { cancelBooking, claimSlot, confirmBooking, rescheduleBooking } from '../../engine/bookings.js';
import { advanceClock } from '../../engine/clock.js';
import { expireHolds } from '../../engine/holds.js';
import type { Actor } from '../../engine/types.js';
import { BookijiError } from '../../errors.js';
import { reconstructBooking } from '../../forensics/index.js';
import { driveMessyHistory, driveMessyPaymentHistory, paymentsInstalled } from '../messyHistory.js';
import { slotAndBookingChecks } from '../truth.js';
import type { IterationPlan, PlannedAction } from '../types.js';
import type { Driver, Finding, Fixture } from './driver.js';

const OPENINGS = ['messy_history', 'messy_card_history'] as const;
const CLOSINGS = ['reconstruct', 'tamper_audit'] as const;
const INTENTS = ['B1', 'B2', 'B3'];
const SLOTS = ['S1', 'S2', 'S3', 'S4', 'S5', 'S6'];
const PICKS = 3;
const HOLD_TTL_SECONDS = 300;
const RECONCILE_ACTOR: Actor = { kind: 'system', id: 'simcity-reconcile', source: 'reconcile' };

interface ForensicFixture extends Fixture {
  slotIds: Record<string, string>;
  customerIds: Record<string, string>;
  customerNames: Record<string, string>;
  keyPrefix: string;
  /** Bookings of the scripted histories (they live at vendors of their own). */
  scripted: string[];
}

const customerOf = (intent: string): string => `C${intent.slice(1)}`;
const actorFor = (fixture: ForensicFixture, intent: string, step: string): Actor => ({
  kind: 'customer',
  id: fixture.customerIds[customerOf(intent)]!,
  source: 'api',
  requestId: `${step}:${intent}`,
});

async function bookingOf(pool: Queryable, fixture: ForensicFixture, intent: string): Promise<string> {
  const row = (await pool.query('SELECT id FROM bookings WHERE vendor_id = $1 AND idempotency_key = $2', [fixture.vendorId, `${fixture.keyPrefix}${intent}`]))
    .rows[0] as { id: string } | undefined;
  if (!row) throw new BookijiError('BOOKING_NOT_FOUND', `intent ${intent} has no booking yet`);
  return row.id;
}

async function walk(pool: Pool, fixture: ForensicFixture, kind: string, intent: string, slot: string): Promise<Record<string, unknown>> {
  const actor = actorFor(fixture, intent, kind);
  const hold = {
    slot: fixture.slotIds[slot],
    customer: fixture.customerIds[customerOf(intent)],
    hold: true,
    holdTtlSeconds: HOLD_TTL_SECONDS,
    paymentMethod: 'pay_on_arrival' as const,
    idempotencyKey: `${fixture.keyPrefix}${intent}`,
  };
  switch (kind) {
    case 'hold':
    case 'retry_hold': {
      // A retry repeats the first request exactly: its slot is the one the intent first asked for.
      const first =
        kind === 'retry_hold'
          ? ((await pool.query('SELECT slot_id FROM bookings WHERE vendor_id = $1 AND idempotency_key = $2', [fixture.vendorId, hold.idempotencyKey])).rows[0]
              ?.slot_id as string | undefined)
          : undefined;
      const result = await claimSlot(pool, { ...hold, slot: first ?? hold.slot }, actor);
      return { booking: result.booking.id, replayed: result.replayed };
    }
    case 'reschedule':
      return { booking: (await rescheduleBooking(pool, { booking: await bookingOf(pool, fixture, intent), slot: fixture.slotIds[slot] }, actor)).id };
    case 'vendor_reschedule':
      return {
        booking: (
          await rescheduleBooking(
            pool,
            { booking: await bookingOf(pool, fixture, intent), slot: fixture.slotIds[slot] },
            { kind: 'vendor', id: fixture.vendorId, source: 'api', requestId: `vendor:${intent}` },
          )
        ).id,
      };
    case 'confirm':
      return { booking: (await confirmBooking(pool, { booking: await bookingOf(pool, fixture, intent) }, actor)).id };
    case 'cancel':
      return {
        booking: (await cancelBooking(pool, { booking: await bookingOf(pool, fixture, intent), reason: `customer ${customerOf(intent)} changed plans` }, actor))
          .id,
      };
    case 'let_expire': {
      await advanceClock(pool, (HOLD_TTL_SECONDS + 1) * 1000);
      return { released: (await expireHolds(pool, { dryRun: false, actor: RECONCILE_ACTOR })).length };
    }
    default:
      throw new BookijiError('INTERNAL_ERROR', `SC-7 has no action ${kind}`);
  }
}

interface Reconstruction {
  bookingId: string;
  problems: string[];
}

/** Reconstructs one booking and holds the report against the database's own rows. */
async function judge(db: Queryable, bookingId: string, fullNames: string[]): Promise<Reconstruction> {
  const report = await reconstructBooking(db, bookingId);
  const row = (await db.query('SELECT state, slot_id FROM bookings WHERE id = $1', [bookingId])).rows[0] as { state: string; slot_id: string };
  const moves = (
    await db.query(
      `SELECT count(*) FILTER (WHERE from_slot_id IS NOT NULL AND from_slot_id <> to_slot_id)::int AS moves, count(*)::int AS n FROM booking_transitions WHERE booking_id = $1`,
      [bookingId],
    )
  ).rows[0] as { moves: number; n: number };
  const transitions = report.timeline.filter((e) => e.kind === 'transition');
  const problems: string[] = [];
  if (report.unknowns.length > 0 || !report.explained)
    problems.push(`unknowns: ${report.unknowns.map((u) => `${u.kind}: ${u.detail}`).join(' | ') || 'not explained'}`);
  if (transitions.length !== moves.n) problems.push(`${transitions.length} transitions in the timeline, ${moves.n} in the database`);
  const causeless = report.timeline.filter((e) => (e.kind === 'transition' || e.kind === 'audit') && (!e.cause || !e.actor || !e.source));
  if (causeless.length > 0) problems.push(`${causeless.length} timeline entries without cause, actor or source (${causeless[0]!.ref})`);
  if (report.state !== row.state || report.slot.id !== row.slot_id)
    problems.push(`report says ${report.state} on ${report.slot.id}; the database ${row.state} on ${row.slot_id}`);
  if (report.previousSlotIds.length !== moves.moves) problems.push(`${report.previousSlotIds.length} previous slots reported for ${moves.moves} moves`);
  if (fullNames.includes(report.customer.name) || !/\*/.test(report.customer.email))
    problems.push(`customer not redacted: ${report.customer.name} ${report.customer.email}`);
  if (!report.resolution) problems.push('no resolution');
  return { bookingId, problems };
}

async function reconstructPicks(pool: Pool, fixture: ForensicFixture, picks: number[]): Promise<Record<string, unknown>> {
  const own = (await pool.query('SELECT id FROM bookings WHERE vendor_id = $1 ORDER BY created_at, id', [fixture.vendorId])).rows.map((r) => r.id as string);
  const candidates = [...fixture.scripted, ...own];
  const chosen = [...new Set(picks.map((pick) => candidates[pick % candidates.length]!))];
  const judged: Reconstruction[] = [];
  for (const bookingId of chosen) judged.push(await judge(pool, bookingId, Object.values(fixture.customerNames)));
  return { candidates: candidates.length, reconstructed: JSON.stringify(judged) };
}

/** Inside a rolled-back transaction: update through the trigger, edit with it off, delete a row; each must be seen. */
async function tamperAudit(pool: Pool, fixture: ForensicFixture): Promise<Record<string, unknown>> {
  const client = await pool.connect();
  const outcome: Record<string, unknown> = {};
  const victim = fixture.scripted[0] ?? '';
  const seen = async (): Promise<{ verify: number; unknown: boolean }> => ({
    verify:
      Number((await client.query('SELECT count(*) AS n FROM audit_verify($1)', [fixture.vendorId])).rows[0].n) +
      Number((await client.query('SELECT count(*) AS n FROM audit_verify((SELECT vendor_id FROM bookings WHERE id = $1))', [victim])).rows[0].n),
    unknown: (await reconstructBooking(client, victim)).unknowns.some((u) => u.kind === 'audit_chain'),
  });
  try {
    await client.query('BEGIN');
    outcome.clean = JSON.stringify(await seen());
    await client.query('SAVEPOINT attack');
    outcome.update = await client
      .query(`UPDATE audit_log SET reason = 'forged' WHERE vendor_id = (SELECT vendor_id FROM bookings WHERE id = $1) AND entity_id = $1`, [victim])
      .then(
        () => 'ACCEPTED',
        (error: { code?: string }) => `refused ${String(error.code)}`,
      );
    await client.query('ROLLBACK TO SAVEPOINT attack');
    await client.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
    await client.query(
      `UPDATE audit_log SET reason = 'forged by SimCity' WHERE vendor_id = (SELECT vendor_id FROM bookings WHERE id = $1) AND seq = (SELECT min(seq) + 1 FROM audit_log WHERE entity_id = $1)`,
      [victim],
    );
    outcome.edit = JSON.stringify(await seen());
    await client.query('ROLLBACK TO SAVEPOINT attack');
    await client.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
    await client.query(
      `DELETE FROM audit_log WHERE vendor_id = (SELECT vendor_id FROM bookings WHERE id = $1) AND seq = (SELECT min(seq) + 1 FROM audit_log WHERE entity_id = $1)`,
      [victim],
    );
    outcome.deletion = JSON.stringify(await seen());
    return outcome;
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}

function closingChecks(event: { action: string; type: string; value?: Record<string, unknown>; error?: string; message?: string }): Finding[] {
  const findings: Finding[] = [];
  if (([...OPENINGS, ...CLOSINGS] as readonly string[]).includes(event.action) && (event.type === 'fail' || event.type === 'unknown')) {
    findings.push({ oracle: 'scripted-history', message: `${event.action} did not run through: ${event.error}: ${event.message ?? ''}`, evidence: event });
  }
  if (event.action === 'reconstruct' && event.type === 'ok') {
    for (const judged of JSON.parse(String(event.value?.reconstructed)) as Reconstruction[]) {
      if (judged.problems.length > 0)
        findings.push({ oracle: 'reconstruction-complete', message: `booking ${judged.bookingId}: ${judged.problems.join('; ')}`, evidence: judged });
    }
  }
  if (event.action === 'tamper_audit' && event.type === 'ok') {
    const value = event.value ?? {};
    const parse = (key: string): { verify: number; unknown: boolean } => JSON.parse(String(value[key])) as { verify: number; unknown: boolean };
    if (parse('clean').verify !== 0 || parse('clean').unknown)
      findings.push({ oracle: 'audit-tamper-detected', message: `the untouched chain already reports problems: ${String(value.clean)}` });
    if (value.update === 'ACCEPTED')
      findings.push({ oracle: 'audit-tamper-detected', message: 'an UPDATE of an audit row was accepted: the log is not append-only' });
    for (const key of ['edit', 'deletion']) {
      const seen = parse(key);
      if (seen.verify === 0 || !seen.unknown)
        findings.push({
          oracle: 'audit-tamper-detected',
          message: `an audit row ${key === 'edit' ? 'edited' : 'deleted'} behind the trigger: audit_verify reports ${seen.verify} problem(s), the reconstruction ${seen.unknown ? 'flags' : 'does not flag'} the chain`,
          evidence: value,
        });
    }
  }
  return findings;
}

export const forensicReplay: Driver<ForensicFixture> = {
  oracles: ['capacity', 'slot-coherence', 'booking-coherence', 'scripted-history', 'reconstruction-complete', 'audit-tamper-detected'],
  oracleInvariants: {
    capacity: ['I1'],
    'slot-coherence': ['I3'],
    'booking-coherence': ['I3', 'I10'],
    'scripted-history': ['I8', 'I10'],
    'reconstruction-complete': ['I10', 'I8'],
    'audit-tamper-detected': ['I8'],
  },
  faultKinds: [...OPENINGS, ...CLOSINGS, 'let_expire'],

  fixtureParameters: () => ({ intents: INTENTS, slots: SLOTS, picks: PICKS, openings: [...OPENINGS], closings: [...CLOSINGS] }),

  plan(random, parameters, iteration): IterationPlan {
    const actions: PlannedAction[] = OPENINGS.map((kind) => ({ kind, args: {} }));
    for (let n = 0; n < parameters.actionsPerIteration; n++) {
      const kind = random.weighted(parameters.actionMix);
      actions.push(kind === 'no_op' ? { kind, args: {} } : { kind, args: { intent: random.pick(INTENTS), slot: random.pick(SLOTS) } });
    }
    actions.push(
      { kind: 'reconstruct', args: { picks: Array.from({ length: PICKS }, () => random.int(0, 999)).join(',') } },
      { kind: 'tamper_audit', args: {} },
    );
    return { iteration, fixtures: parameters.fixtures, actions, settle: [] };
  },

  async setup(db, plan, runId) {
    const vendorId = (
      await db.query(`INSERT INTO vendors (name, timezone) VALUES ($1, 'Europe/Paris') RETURNING id`, [`SimCity SC-7 ${runId} #${plan.iteration}`])
    ).rows[0].id as string;
    const slotIds: Record<string, string> = {};
    for (const [index, name] of SLOTS.entries()) {
      slotIds[name] = (
        await db.query(
          `WITH who AS (SELECT set_actor('simcity', 'setup', 'simcity', 'SC-7 fixture'))
         INSERT INTO slots (vendor_id, starts_at, ends_at, capacity, price_cents) SELECT $1, date_trunc('hour', bookiji_now()) + make_interval(days => 2, hours => $2 * 2), date_trunc('hour', bookiji_now()) + make_interval(days => 2, hours => $2 * 2 + 1), 1, 3000 FROM who RETURNING id`,
          [vendorId, index],
        )
      ).rows[0].id as string;
    }
    const customerIds: Record<string, string> = {};
    const customerNames: Record<string, string> = {};
    for (const intent of INTENTS) {
      const name = customerOf(intent);
      customerNames[name] = `Grace ${name} Hopper`;
      customerIds[name] = (
        await db.query('INSERT INTO customers (name, email) VALUES ($1, $2) RETURNING id', [
          customerNames[name],
          `${name.toLowerCase()}-${runId}-${plan.iteration}@simcity.test`,
        ])
      ).rows[0].id as string;
    }
    return {
      vendorId,
      slotIds,
      customerIds,
      customerNames,
      keyPrefix: `sc7-${runId}-${plan.iteration}-`,
      scripted: [],
      names: { V: vendorId, ...slotIds, ...customerIds },
    };
  },

  async perform(action, fixture, session) {
    const pool = session.pool;
    switch (action.kind) {
      case 'messy_history': {
        const history = await driveMessyHistory(pool, `sc7-${fixture.keyPrefix}`);
        fixture.scripted.push(history.bookingId);
        return { booking: history.bookingId, steps: history.steps.length };
      }
      case 'messy_card_history': {
        if (!(await paymentsInstalled(pool)))
          throw new BookijiError('INTERNAL_ERROR', 'the payments module is not installed: the card history cannot be driven');
        const history = await driveMessyPaymentHistory(pool, fixture.keyPrefix.replace(/[^A-Za-z0-9]/g, ''));
        fixture.scripted.push(history.bookingId);
        return { booking: history.bookingId, steps: history.steps.length };
      }
      case 'reconstruct':
        return reconstructPicks(pool, fixture, String(action.args.picks).split(',').map(Number));
      case 'tamper_audit':
        return tamperAudit(pool, fixture);
      default:
        return walk(pool, fixture, action.kind, String(action.args.intent ?? ''), String(action.args.slot ?? ''));
    }
  },

  observe(truth, _fixture, events) {
    return [...slotAndBookingChecks(truth), ...events.flatMap((event) => closingChecks(event))];
  },

  terminal(truth, fixture, events) {
    return { findings: forensicReplay.observe(truth, fixture, events) };
  },

  exercised(event) {
    if (event.type !== 'ok') return [];
    if (event.action === 'tamper_audit') return ['I8'];
    if (event.action === 'reconstruct') return ['I10'];
    return [];
  },
};
