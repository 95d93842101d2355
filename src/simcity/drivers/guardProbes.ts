// SC-10, guard probes (scenarios/SC-10.json, phase 1): one vendor whose
// slots S1 and S2 overlap, two intents K1 and K2 (a fresh key per burst),
// and seeded actions that each drive the engine into the state one guard
// exists for: concurrent claims on overlapping slots (I2), one key sent at
// once with the same and with another request (I6), schedule refreshes
// dropping a booked slot or one a booking moved away from (I7), the audit
// log edited, deleted, truncated, its head moved or its chain forged (I8),
// forbidden transitions through the engine and by direct UPDATE (I10), and
// the change probes of guardProbeChanges.ts (versions, a card booking's
// price, a hold's deadline, a key reused for another intent: I10, I4, I9, I6),
// and the listing probe of guardProbeListing.ts (availability offers no full
// or removed slot: I1, I7).
// The oracles read the database's truth after every action.

import type { Pool } from '../../db/pool.js';
import type { Random } from '../random.js';
import { slotAndBookingChecks, readVendorTruth, type VendorTruth } from '../truth.js';
import type { HistoryEvent, IterationPlan, PlannedAction } from '../types.js';
import { insertCustomer, type Driver, type Finding, type TerminalVerdict } from './driver.js';
import { CHANGE_PROBE_INVARIANT, CHANGE_PROBES, changeProbe, changeProbeFindings, type ChangeProbe } from './guardProbeChanges.js';
import { listingFindings, listingProbe } from './guardProbeListing.js';
import { claimOverlapBurst, forbiddenTransition, refreshDrop, retryKeyBurst, tamperAudit, type GuardProbeFixture } from './guardProbeActions.js';

const TAMPER_KINDS = ['update', 'delete', 'truncate', 'head', 'forge'] as const;
const TRANSITION_KINDS = ['engine_confirm_cancelled', 'direct_revive', 'direct_unconfirm', 'erase_log'] as const;
const CUSTOMERS = 5;
/** Probe slots start this many hours after the fixture's, two hours apart. */
const PROBE_HOURS_FROM = 72;

interface ProbeTruth extends VendorTruth {
  legacySlots: string[];
  auditProblems: number;
  /** Slots of the vendor with no insert audit row, and removed (legacy) ones with no audit row of the flip. */
  unauditedSlots: string[];
}

type Value = Record<string, unknown>;
const okEvents = (events: HistoryEvent[], action: string): HistoryEvent[] => events.filter((e) => e.type === 'ok' && e.action === action);
const isActive = (state: string): boolean => state === 'held' || state === 'confirmed';

function overlapFindings(truth: ProbeTruth, fixture: GuardProbeFixture): Finding[] {
  const active = truth.bookings.filter((b) => isActive(b.state));
  const onS1 = active.filter((b) => b.slotId === fixture.slots.S1).length;
  const onS2 = active.filter((b) => b.slotId === fixture.slots.S2).length;
  return onS1 > 0 && onS2 > 0
    ? [{ oracle: 'vendor-exclusivity', message: `the vendor has ${onS1} active booking(s) on S1 and ${onS2} on S2, which overlap`, evidence: active }]
    : [];
}

function idempotencyFindings(truth: ProbeTruth, events: HistoryEvent[]): Finding[] {
  const findings: Finding[] = [];
  for (const event of okEvents(events, 'retry_key_burst')) {
    const { intent, key } = event.value as { intent: string; key: string };
    const withKey = truth.bookings.filter((b) => b.idempotencyKey === key);
    if (withKey.length > 1) findings.push({ oracle: 'idempotency', message: `key ${key} (${intent}) has ${withKey.length} bookings`, evidence: withKey });
    const replies = (event.value!.requests as Value[]).filter((r) => r.outcome === 'OK');
    const ids = new Set(replies.map((r) => r.booking));
    if (ids.size > 1)
      findings.push({ oracle: 'idempotency', message: `key ${key} (${intent}) answered with ${ids.size} different bookings`, evidence: replies });
    for (const reply of replies.filter((r) => r.bookingSlot !== r.slotId)) {
      findings.push({
        oracle: 'idempotency',
        message: `key ${key} sent for ${String(reply.slot)} was answered with a booking on another slot instead of IDEMPOTENCY_MISMATCH`,
        evidence: reply,
      });
    }
  }
  return findings;
}

function preservationFindings(truth: ProbeTruth, events: HistoryEvent[]): Finding[] {
  const findings: Finding[] = [];
  const slots = new Set(truth.slots.map((s) => s.id));
  const legacy = new Set(truth.legacySlots);
  for (const event of okEvents(events, 'refresh_drop')) {
    const v = event.value!;
    const slot = String(v.slot);
    if (!slots.has(slot))
      findings.push({ oracle: 'preservation', message: `a refresh deleted slot ${slot}, which had a booking (${String(v.variant)})`, evidence: v });
    else if (!legacy.has(slot))
      findings.push({ oracle: 'preservation', message: `slot ${slot} was dropped from the schedule with a booking but is not legacy`, evidence: v });
    if (v.newcomer !== 'BOOKING_CONFLICT')
      findings.push({
        oracle: 'preservation',
        message: `a new claim on dropped slot ${slot} answered ${String(v.newcomer)}, not BOOKING_CONFLICT`,
        evidence: v,
      });
    const booking = truth.bookings.find((b) => b.id === v.booking);
    if (!booking || !isActive(booking.state))
      findings.push({ oracle: 'preservation', message: `booking ${String(v.booking)} lost by a schedule refresh`, evidence: booking ?? null });
  }
  return findings;
}

function probeFindings(events: HistoryEvent[], truth: ProbeTruth): Finding[] {
  const findings: Finding[] = [];
  for (const event of okEvents(events, 'tamper_audit')) {
    const { how, outcome } = event.value as { how: string; outcome: string };
    if (how === 'forge' ? outcome === 'UNDETECTED' : outcome === 'ACCEPTED') {
      findings.push({
        oracle: how === 'forge' ? 'audit-tamper-detected' : 'audit-append-only',
        message: `audit ${how} as the application's role: ${outcome}`,
        evidence: event.value,
      });
    }
  }
  for (const event of okEvents(events, 'forbidden_transition')) {
    const { how, outcome } = event.value as { how: string; outcome: string };
    if (outcome === 'ACCEPTED') findings.push({ oracle: 'transitions-guarded', message: `forbidden move ${how}: ACCEPTED`, evidence: event.value });
  }
  if (truth.unauditedSlots.length > 0)
    findings.push({
      oracle: 'slots-audited',
      message: `${truth.unauditedSlots.length} slot(s) of the vendor were created or removed without an audit row`,
      evidence: truth.unauditedSlots,
    });
  if (truth.auditProblems > 0)
    findings.push({ oracle: 'audit-tamper-detected', message: `audit verify finds ${truth.auditProblems} problem(s) in the vendor's chain` });
  return findings;
}

function shuffled<T>(random: Random, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

function plannedAction(kind: string, random: Random): PlannedAction {
  if (kind === 'retry_key_burst') return { kind, args: { intent: random.pick(['K1', 'K2'] as const) } };
  if (kind === 'refresh_drop') return { kind, args: { variant: random.pick(['booked', 'moved'] as const) } };
  if (kind === 'tamper_audit') return { kind, args: { how: random.pick(TAMPER_KINDS) } };
  if (kind === 'forbidden_transition') return { kind, args: { how: random.pick(TRANSITION_KINDS) } };
  if (kind === 'change_probe') return { kind, args: { how: random.pick(CHANGE_PROBES) } };
  return { kind, args: {} };
}

export const guardProbes: Driver<GuardProbeFixture> = {
  oracles: [
    'vendor-exclusivity',
    'idempotency',
    'preservation',
    'audit-append-only',
    'audit-tamper-detected',
    'transitions-guarded',
    'versions-honoured',
    'price-kept',
    'hold-deadline-kept',
    'listing-truthful',
    'slots-audited',
    'capacity',
    'slot-coherence',
    'booking-coherence',
  ],
  oracleInvariants: {
    'vendor-exclusivity': ['I2'],
    idempotency: ['I6'],
    preservation: ['I7'],
    'audit-append-only': ['I8'],
    'audit-tamper-detected': ['I8'],
    'transitions-guarded': ['I10'],
    'versions-honoured': ['I10'],
    'price-kept': ['I4'],
    'hold-deadline-kept': ['I9'],
    'listing-truthful': ['I1', 'I7'],
    'slots-audited': ['I8'],
    capacity: ['I1'],
    'slot-coherence': ['I3'],
    'booking-coherence': ['I10'],
  },
  fixtureParameters: () => ({
    vendors: 1,
    slots: { S1: '+48h, 1 h', S2: '+48h30, 1 h (overlaps S1)', probes: 'fresh slots from +74h, two hours apart' },
    customers: CUSTOMERS,
    keys: ['K1', 'K2'],
  }),

  plan(random, parameters, iteration): IterationPlan {
    // Every iteration opens with every probe once, so no seed leaves a guard unprobed (and a broken
    // engine's twin test fails on every run, not by luck); the seed orders them and mixes the rest.
    const opening: PlannedAction[] = shuffled(random, [
      { kind: 'claim_overlap_burst', args: {} },
      ...(['K1', 'K2'] as const).map((intent) => ({ kind: 'retry_key_burst', args: { intent } })),
      ...(['booked', 'moved'] as const).map((variant) => ({ kind: 'refresh_drop', args: { variant } })),
      ...TAMPER_KINDS.map((how) => ({ kind: 'tamper_audit', args: { how } })),
      ...TRANSITION_KINDS.map((how) => ({ kind: 'forbidden_transition', args: { how } })),
      ...CHANGE_PROBES.map((how) => ({ kind: 'change_probe', args: { how } })),
      { kind: 'listing_probe', args: {} },
    ]);
    const rest = Array.from({ length: parameters.actionsPerIteration }, () => plannedAction(random.weighted(parameters.actionMix), random));
    return { iteration, fixtures: parameters.fixtures, actions: [...opening, ...rest], settle: [] };
  },

  async setup(db: Pool, plan, runId) {
    const vendor = await db.query(`INSERT INTO vendors (name, timezone) VALUES ($1, 'UTC') RETURNING id`, [`SimCity SC-10 ${runId} #${plan.iteration}`]);
    const vendorId = (vendor.rows[0] as { id: string }).id;
    const made = await db.query(
      `WITH who AS (SELECT set_actor('simcity', 'setup', 'simcity', 'SC-10 fixture')),
            base AS (SELECT date_trunc('hour', bookiji_now()) + interval '2 days' AS t FROM who)
       INSERT INTO slots (vendor_id, starts_at, ends_at, capacity)
       SELECT $1, t + o.start_offset, t + o.start_offset + interval '1 hour', 1
       FROM base, (VALUES (1, interval '0'), (2, interval '30 minutes')) AS o(n, start_offset)
       ORDER BY o.n RETURNING id`,
      [vendorId],
    );
    const ids = made.rows.map((r) => (r as { id: string }).id);
    const customers: string[] = [];
    for (let i = 1; i <= CUSTOMERS; i++) customers.push(await insertCustomer(db, `C${i}`, runId));
    const keys = { K1: `sc10-${runId}-${plan.iteration}-K1`, K2: `sc10-${runId}-${plan.iteration}-K2` };
    const slots = { S1: ids[0]!, S2: ids[1]! };
    return {
      vendorId,
      slots,
      customers,
      keys,
      nextHour: PROBE_HOURS_FROM,
      keyBursts: 0,
      activeSlots: new Set<string>(),
      names: { V: vendorId, ...slots, ...Object.fromEntries(customers.map((c, i) => [`C${i + 1}`, c])), ...keys },
    };
  },

  async perform(action, fixture, session) {
    switch (action.kind) {
      case 'claim_overlap_burst':
        return claimOverlapBurst(fixture, session);
      case 'retry_key_burst':
        return retryKeyBurst(fixture, session, action.args.intent as 'K1' | 'K2');
      case 'refresh_drop':
        return refreshDrop(fixture, session, action.args.variant as 'booked' | 'moved');
      case 'tamper_audit':
        return tamperAudit(fixture, session, String(action.args.how));
      case 'forbidden_transition':
        return forbiddenTransition(fixture, session, String(action.args.how));
      case 'change_probe':
        return changeProbe(fixture, session, action.args.how as ChangeProbe);
      case 'listing_probe':
        return listingProbe(fixture, session);
      default:
        throw new Error(`SC-10 has no action ${action.kind}`);
    }
  },

  async readTruth(db, fixture): Promise<ProbeTruth> {
    const truth = await readVendorTruth(db, fixture.vendorId);
    const extra = await db.query(
      `SELECT (SELECT coalesce(array_agg(id), '{}') FROM slots WHERE vendor_id = $1 AND legacy) AS legacy,
              (SELECT count(*)::int FROM audit_verify($1)) AS problems,
              (SELECT coalesce(array_agg(s.id), '{}') FROM slots s WHERE s.vendor_id = $1
                 AND (NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.vendor_id = $1 AND a.entity = 'slots' AND a.entity_id = s.id AND a.action = 'insert')
                      OR (s.legacy AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.vendor_id = $1 AND a.entity = 'slots' AND a.entity_id = s.id
                                                     AND a.action = 'update' AND (a.after->>'legacy')::boolean)))) AS unaudited`,
      [fixture.vendorId],
    );
    const row = extra.rows[0] as { legacy: string[]; problems: number; unaudited: string[] };
    return { ...truth, legacySlots: row.legacy, auditProblems: row.problems, unauditedSlots: row.unaudited };
  },

  observe(truth, fixture, events) {
    const probe = truth as ProbeTruth;
    fixture.activeSlots = new Set(truth.bookings.filter((b) => isActive(b.state)).map((b) => b.slotId));
    return [
      ...slotAndBookingChecks(truth),
      ...overlapFindings(probe, fixture),
      ...idempotencyFindings(probe, events),
      ...preservationFindings(probe, events),
      ...probeFindings(events, probe),
      ...changeProbeFindings(events),
      ...listingFindings(events),
    ];
  },

  terminal(truth, fixture, events): TerminalVerdict {
    const findings = guardProbes.observe(truth, fixture, events);
    const unresolved = events.filter((e) => e.type === 'unknown' || (e.type === 'fail' && e.process !== 'nemesis'));
    if (findings.length === 0 && unresolved.length > 0) {
      return {
        findings,
        undecided: `${unresolved.length} probe(s) could not run to an answer (${unresolved
          .map((e) => `${e.action}: ${e.error ?? e.type}`)
          .slice(0, 3)
          .join('; ')})`,
      };
    }
    return { findings, state: 'every guard probed' };
  },

  exercised(event, fixture) {
    if (event.type !== 'ok' || !event.value) return [];
    const v = event.value;
    if (event.action === 'claim_overlap_burst') {
      const claims = v.claims as Value[];
      const attempted = new Set(claims.map((c) => c.slot));
      const heldBefore = (v.activeBefore as string[]).some((id) => id === fixture.slots.S1 || id === fixture.slots.S2);
      return attempted.has('S1') && attempted.has('S2') && (heldBefore || claims.some((c) => c.outcome === 'OK')) ? ['I2'] : [];
    }
    if (event.action === 'retry_key_burst') return (v.requests as Value[]).length > 1 ? ['I6'] : [];
    if (event.action === 'refresh_drop') return ['I7'];
    if (event.action === 'tamper_audit') return String(v.outcome).startsWith('not attempted') ? [] : ['I8'];
    if (event.action === 'forbidden_transition') return ['I10'];
    if (event.action === 'change_probe') return [CHANGE_PROBE_INVARIANT[v.how as ChangeProbe]];
    if (event.action === 'listing_probe') return ['I1', 'I7'];
    return [];
  },
};
