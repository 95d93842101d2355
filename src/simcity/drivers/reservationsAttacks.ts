// SC-9's scripted opening attacks: every iteration, whatever the seed, drives
// one reservation each into the four dangerous states issue 12 found, with
// the provider's fault plan off so every step lands (each attack has its own
// slot and requester):
//
//   cancel_after_commit      commit, then cancel the booking: both captures
//                            must be owed back (R1, R3, I4)
//   pay_outside_reservation  pay the reservation's booking as a plain card
//                            booking while the vendor has not answered (R1, I4)
//   commit_resumed_late      captures down during commit; the slot starts;
//                            reconcile resumes the commit (I5, R1)
//   late_authorization       the server's confirm of the requester's intent
//                            lost to a provider outage while the customer's
//                            browser confirms it on-session (3-D Secure
//                            pending); the stage's TTL passes; a competitor
//                            claims the slot (the expired hold must not block
//                            it, I9); the customer then finishes 3-D Secure:
//                            the late money must be owed back (R3)
//   same_key_race            two requests with one key and different
//                            metadata; the second waits on the first's slot
//                            lock and meets it committed: it must be refused,
//                            never "replayed" as the other request, and so
//                            must a third sent after the commit (I6)
//   three_ds_off_session     the requester's saved card needs 3-D Secure and
//                            nobody is there: the server's off-session confirm
//                            must fail that side (and release the deposit),
//                            never leave it waiting for a customer (R3)
//   reschedule_outside_reservation  `booking reschedule` of the reservation's
//                            booking to another slot of the same price: it must
//                            be refused, the booking keeping the reservation's
//                            slot (R1)
//   commit_resume_one_fails  two commits left in progress by a crash, the
//                            first one's intents made under another provider
//                            account (ours cannot return them); reconcile must
//                            report that one on its row and still finish the
//                            second (R2)
//   capture_fails_mid_commit both sides authorized; during the commit the
//                            provider fails the requester's capture (its
//                            authorization lapsed) and captures the deposit:
//                            the reservation must fail, never commit on one
//                            capture, and the deposit be owed back (R2, R3)
//   forbidden_reservation_moves  direct UPDATEs of a reservation's state that
//                            the machine forbids (a fresh one straight to
//                            COMMITTED, a cancelled one revived), as the
//                            application's role, each rolled back: the
//                            database must refuse them itself (R4)

import { cancelBooking, claimSlot, rescheduleBooking } from '../../engine/bookings.js';
import { advanceClock } from '../../engine/clock.js';
import { BookijiError } from '../../errors.js';
import type { Pool } from '../../db/pool.js';
import type { Actor } from '../../engine/types.js';
import { payAsCustomer, startCardCheckout, verifyBookingPayment } from '../../payments/checkout.js';
import { PaymentGateway } from '../../payments/gateway.js';
import { reconcile } from '../../reconcile/index.js';
import {
  authorizeRequester,
  authorizeVendorDeposit,
  cancelReservation,
  commitReservation,
  createReservation,
  vendorConfirmReservation,
} from '../../reservations/index.js';
import { startStripeSandbox, type FaultOptions, type StripeSandbox } from '../../stripeSandbox/index.js';
import type { Fixture, Services } from './driver.js';
import { attemptRolledBack } from './guardProbeActions.js';

export const OPENING_ATTACKS = [
  'cancel_after_commit',
  'pay_outside_reservation',
  'commit_resumed_late',
  'late_authorization',
  'same_key_race',
  'three_ds_off_session',
  'reschedule_outside_reservation',
  'commit_resume_one_fails',
  'capture_fails_mid_commit',
  'forbidden_reservation_moves',
] as const;
/** The attacks that need a second slot of the same price beside their own, and its name's suffix. */
const SECOND_SLOT: Partial<Record<OpeningAttack, string>> = { reschedule_outside_reservation: 'target', commit_resume_one_fails: 'second' };
/** The second slot's name of the attack `kind` run as `name`, or null when it needs none. */
export function secondSlotOf(kind: OpeningAttack, name: string): string | null {
  const suffix = SECOND_SLOT[kind];
  return suffix ? `${name}-${suffix}` : null;
}
const OTHER_ACCOUNT_KEY = 'sk_test_sc9_other_account';
export type OpeningAttack = (typeof OPENING_ATTACKS)[number];

/** The attack whose slot starts soon: long enough to reach the commit, shorter than the commit stage's TTL (15 min). */
export const LATE_ATTACK_SLOT_START_MINUTES = 12;
const LATE_ATTACK_CLOCK_STEP_MS = 13 * 60_000;
/** Past the authorization stage's TTL (30 min). */
const AUTH_STAGE_PASSED_MS = 31 * 60_000;
const CAPTURES_DOWN: FaultOptions = { apiErrorRate: 1, apiErrorPaths: ['POST /v1/payment_intents/*/capture'] };
const CONFIRMS_DOWN: FaultOptions = { apiErrorRate: 1, apiErrorPaths: ['POST /v1/payment_intents/*/confirm'] };

export const PARTNER_ID = 'simcity-sc9';
export const RECONCILE_ACTOR: Actor = { kind: 'system', id: 'simcity-reconcile', source: 'reconcile' };

export interface ProviderServices extends Services {
  sandbox: StripeSandbox;
  gateway: PaymentGateway;
  /** The seeded fault plan's rates, restored after each scripted or settle phase. */
  faults: FaultOptions;
}

export interface ReservationFixture extends Fixture {
  slotIds: Record<string, string>;
  customerIds: Record<string, string>;
  /** Symbolic reservation name (R1, A1, …) → reservation id, once created. */
  reservationIds: Record<string, string>;
  keyPrefix: string;
  services: ProviderServices;
}

export const partnerActor = (name: string): Actor => ({ kind: 'partner', id: PARTNER_ID, source: 'simcity', requestId: name });
export const vendorActor = (fixture: ReservationFixture): Actor => ({ kind: 'vendor', id: fixture.vendorId, source: 'simcity' });

/** Creates the reservation `name` on `slot` for `requester` (a retry with the same name replays it). */
export async function reserve(fixture: ReservationFixture, pool: Pool, name: string, slot: string, requester: string): Promise<string> {
  const slotRow = (await pool.query('SELECT starts_at, ends_at FROM slots WHERE vendor_id = $1 AND id = $2', [fixture.vendorId, fixture.slotIds[slot]]))
    .rows[0] as { starts_at: Date; ends_at: Date };
  const { reservation } = await createReservation(
    pool,
    {
      vendorId: fixture.vendorId,
      slotStartTime: slotRow.starts_at,
      slotEndTime: slotRow.ends_at,
      requesterId: fixture.customerIds[requester]!,
      partnerId: PARTNER_ID,
      idempotencyKey: `${fixture.keyPrefix}${name}`,
      metadata: { name },
    },
    partnerActor(name),
  );
  fixture.reservationIds[name] = reservation.id;
  return reservation.id;
}

const COMMIT_ATTEMPTS_MAX = 5;

async function withFaultsOff<T>(services: ProviderServices, script: () => Promise<T>): Promise<T> {
  services.sandbox.setFaults({});
  try {
    return await script();
  } finally {
    services.sandbox.setFaults(services.faults);
  }
}

/** Both sides authorized with good cards: the stage right before commit. */
async function authorizedBoth(fixture: ReservationFixture, pool: Pool, name: string): Promise<string> {
  const id = await reserve(fixture, pool, name, name, `C${name}`);
  const { gateway } = fixture.services;
  await vendorConfirmReservation(pool, id, vendorActor(fixture));
  await authorizeVendorDeposit(pool, gateway, id, { paymentMethod: 'pm_card_visa' }, vendorActor(fixture));
  await authorizeRequester(pool, gateway, id, { paymentMethod: 'pm_card_visa' }, partnerActor(name));
  return id;
}

/** Commits, resuming while a capture call timed out (the gateway's 400 ms, under a loaded machine): this attack needs a commit that finished. */
async function commitFinished(fixture: ReservationFixture, pool: Pool, id: string, name: string): Promise<Awaited<ReturnType<typeof commitReservation>>> {
  for (let attempt = 1; ; attempt++) {
    try {
      const reservation = await commitReservation(pool, fixture.services.gateway, id, partnerActor(name));
      if (reservation.state !== 'COMMIT_IN_PROGRESS' || attempt === COMMIT_ATTEMPTS_MAX) return reservation;
    } catch (error) {
      if (!(error instanceof BookijiError && error.code === 'DEPENDENCY_UNAVAILABLE') || attempt === COMMIT_ATTEMPTS_MAX) throw error;
    }
  }
}

async function cancelAfterCommit(fixture: ReservationFixture, pool: Pool, name: string): Promise<Record<string, unknown>> {
  const id = await authorizedBoth(fixture, pool, name);
  const committed = await commitFinished(fixture, pool, id, name);
  const cancelled = await cancelBooking(pool, { booking: committed.bookingId, reason: 'SC-9: the customer cancels after commit' }, partnerActor(name));
  return { reservation: id, committed: committed.state, booking: cancelled.state };
}

async function payOutsideReservation(fixture: ReservationFixture, pool: Pool, name: string): Promise<Record<string, unknown>> {
  const id = await reserve(fixture, pool, name, name, `C${name}`);
  const bookingId = (await pool.query('SELECT booking_id FROM reservations WHERE vendor_id = $1 AND id = $2', [fixture.vendorId, id])).rows[0]
    .booking_id as string;
  const customer: Actor = { kind: 'customer', id: `C${name}`, source: 'simcity' };
  try {
    const started = await startCardCheckout(pool, fixture.services.gateway, bookingId, customer);
    await payAsCustomer(fixture.services.gateway, started.payment.providerIntentId!, 'pm_card_visa');
    await fixture.services.sandbox.flushWebhooks();
    const verified = await verifyBookingPayment(pool, fixture.services.gateway, bookingId, customer);
    return { reservation: id, refused: false, booking: verified.booking.state };
  } catch (error) {
    if (error instanceof BookijiError) return { reservation: id, refused: true, code: error.code };
    throw error;
  }
}

async function commitResumedLate(fixture: ReservationFixture, pool: Pool, name: string): Promise<Record<string, unknown>> {
  const id = await authorizedBoth(fixture, pool, name);
  const { sandbox, gateway } = fixture.services;
  sandbox.setFaults(CAPTURES_DOWN);
  const during = await commitReservation(pool, gateway, id, partnerActor(name));
  sandbox.setFaults({});
  await advanceClock(pool, LATE_ATTACK_CLOCK_STEP_MS);
  await reconcile(pool, gateway, { dryRun: false, actor: RECONCILE_ACTOR });
  const after = (await pool.query('SELECT state FROM reservations WHERE vendor_id = $1 AND id = $2', [fixture.vendorId, id])).rows[0].state as string;
  return { reservation: id, during: during.state, after };
}

async function lateAuthorization(fixture: ReservationFixture, pool: Pool, name: string): Promise<Record<string, unknown>> {
  const id = await reserve(fixture, pool, name, name, `C${name}`);
  const { sandbox, gateway } = fixture.services;
  await vendorConfirmReservation(pool, id, vendorActor(fixture));
  await authorizeVendorDeposit(pool, gateway, id, { paymentMethod: 'pm_card_visa' }, vendorActor(fixture));
  // The server's confirm is lost to an outage: the stage waits on an intent nobody confirmed.
  sandbox.setFaults(CONFIRMS_DOWN);
  const lost = await authorizeRequester(pool, gateway, id, { paymentMethod: 'pm_card_visa' }, partnerActor(name)).then(
    (r) => r.state,
    (error: unknown) => (error instanceof BookijiError ? error.code : Promise.reject(error)),
  );
  sandbox.setFaults({});
  // Meanwhile the customer's browser confirms the same intent and starts 3-D Secure.
  const intent = (
    await pool.query(`SELECT provider_intent_id FROM payments WHERE vendor_id = $1 AND reservation_id = $2 AND purpose = 'reservation_requester'`, [
      fixture.vendorId,
      id,
    ])
  ).rows[0].provider_intent_id as string;
  await payAsCustomer(gateway, intent, 'pm_card_threeDSecureRequired');
  await sandbox.flushWebhooks();
  const before = (await pool.query('SELECT state FROM reservations WHERE vendor_id = $1 AND id = $2', [fixture.vendorId, id])).rows[0].state as string;
  await advanceClock(pool, AUTH_STAGE_PASSED_MS);
  const competitor = await competingClaim(fixture, pool, name, `K${name}`, { judgeExpiredHold: true });
  // The customer finishes 3-D Secure after the stage ended: late money.
  const late = sandbox.completeAction(intent, 'succeed');
  await sandbox.flushWebhooks();
  return { reservation: id, lost, before, competitor, lateIntent: late.status };
}

/** The provider's status of the reservation's intent for `purpose`, or null before it exists. */
export async function intentStatusOf(pool: Pool, fixture: ReservationFixture, reservationId: string, purpose: string): Promise<string | null> {
  const found = await pool.query('SELECT provider_intent_id FROM payments WHERE vendor_id = $1 AND reservation_id = $2 AND purpose = $3', [
    fixture.vendorId,
    reservationId,
    purpose,
  ]);
  const intentId = (found.rows[0] as { provider_intent_id: string | null } | undefined)?.provider_intent_id;
  return intentId ? (fixture.services.sandbox.paymentIntents().find((pi) => pi.id === intentId)?.status ?? null) : null;
}

async function threeDsOffSession(fixture: ReservationFixture, pool: Pool, name: string): Promise<Record<string, unknown>> {
  const id = await reserve(fixture, pool, name, name, `C${name}`);
  const { gateway } = fixture.services;
  await vendorConfirmReservation(pool, id, vendorActor(fixture));
  await authorizeVendorDeposit(pool, gateway, id, { paymentMethod: 'pm_card_visa' }, vendorActor(fixture));
  const after = await authorizeRequester(pool, gateway, id, { paymentMethod: 'pm_card_authenticationRequired' }, partnerActor(name));
  return { reservation: id, state: after.state, intentStatus: await intentStatusOf(pool, fixture, id, 'reservation_requester') };
}

async function rescheduleOutsideReservation(fixture: ReservationFixture, pool: Pool, name: string): Promise<Record<string, unknown>> {
  const id = await reserve(fixture, pool, name, name, `C${name}`);
  const bookingId = (await pool.query('SELECT booking_id FROM reservations WHERE vendor_id = $1 AND id = $2', [fixture.vendorId, id])).rows[0]
    .booking_id as string;
  try {
    const moved = await rescheduleBooking(
      pool,
      { booking: bookingId, slot: fixture.slotIds[secondSlotOf('reschedule_outside_reservation', name)!] },
      { kind: 'customer', id: `C${name}`, source: 'simcity' },
    );
    return { reservation: id, refused: false, bookingSlot: moved.slotId };
  } catch (error) {
    if (error instanceof BookijiError) return { reservation: id, refused: true, code: error.code };
    throw error;
  }
}

/**
 * Another customer claims `slot`. Judged (only where nothing else runs, so
 * nobody else can take or free the slot meanwhile): a refusal while the slot
 * holds nothing but holds whose TTL had passed before the claim began is
 * reported as blockedByExpiredHold, since an expired hold must never block
 * anyone (I9), reconcile or not.
 */
export async function competingClaim(
  fixture: ReservationFixture,
  pool: Pool,
  slot: string,
  customer: string,
  options: { judgeExpiredHold: boolean },
): Promise<Record<string, unknown>> {
  const holds = await pool.query(
    `SELECT count(*) FILTER (WHERE state = 'held' AND hold_expires_at <= bookiji_now())::int AS expired,
            count(*) FILTER (WHERE (state = 'held' AND hold_expires_at > bookiji_now()) OR state = 'confirmed')::int AS live
     FROM bookings WHERE vendor_id = $1 AND slot_id = $2`,
    [fixture.vendorId, fixture.slotIds[slot]],
  );
  const { expired, live } = holds.rows[0] as { expired: number; live: number };
  try {
    const claimed = await claimSlot(
      pool,
      { slot: fixture.slotIds[slot], customer: fixture.customerIds[customer], hold: true, holdTtlSeconds: 60, paymentMethod: 'pay_on_arrival' },
      { kind: 'customer', id: customer, source: 'simcity' },
    );
    return { booking: claimed.booking.id, expiredHoldsBefore: expired, blockedByExpiredHold: false };
  } catch (error) {
    if (!(error instanceof BookijiError) || error.code !== 'BOOKING_CONFLICT') throw error;
    return { conflict: true, expiredHoldsBefore: expired, blockedByExpiredHold: options.judgeExpiredHold && expired > 0 && live === 0 };
  }
}

/** Waits (bounded) until a session of this database waits on a lock `holder` holds; pg_locks is read live, not from a stats snapshot. */
async function waitUntilBlockedBy(holder: { query: Pool['query'] }, holderPid: number): Promise<boolean> {
  for (let attempt = 0; attempt < RACE_WAIT_ATTEMPTS; attempt++) {
    const waiting = await holder.query(
      `SELECT count(*)::int AS n FROM (SELECT DISTINCT pid FROM pg_locks WHERE NOT granted) w WHERE $1 = ANY (pg_blocking_pids(w.pid))`,
      [holderPid],
    );
    if ((waiting.rows[0] as { n: number }).n > 0) return true;
    await new Promise((resolve) => setTimeout(resolve, RACE_POLL_MS));
  }
  return false;
}

const RACE_WAIT_ATTEMPTS = 300;
const RACE_POLL_MS = 10;

/**
 * The first request's transaction is held open after create_reservation
 * while the second (same key, other metadata) runs: the second passes its own
 * key lookup, waits on the slot's lock, and meets the first committed on its
 * unique-violation path. `replayedOtherRequest` reports an answer that
 * returned the first reservation as if it were the second's.
 */
async function sameKeyRace(fixture: ReservationFixture, pool: Pool, name: string): Promise<Record<string, unknown>> {
  const slot = (await pool.query('SELECT starts_at, ends_at FROM slots WHERE vendor_id = $1 AND id = $2', [fixture.vendorId, fixture.slotIds[name]]))
    .rows[0] as { starts_at: Date; ends_at: Date };
  const key = `${fixture.keyPrefix}${name}`;
  const requester = fixture.customerIds[`C${name}`]!;
  const first = await pool.connect();
  try {
    await first.query('BEGIN');
    const created = await first.query('SELECT reservation FROM create_reservation($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)', [
      fixture.vendorId,
      slot.starts_at,
      slot.ends_at,
      requester,
      PARTNER_ID,
      JSON.stringify({ name, request: 'first' }),
      key,
      'partner',
      PARTNER_ID,
      'simcity',
    ]);
    fixture.reservationIds[name] = String((created.rows[0] as { reservation: { id: string } }).reservation.id);
    const holderPid = Number((await first.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
    const reuseKey = (request: string) =>
      createReservation(
        pool,
        {
          vendorId: fixture.vendorId,
          slotStartTime: slot.starts_at,
          slotEndTime: slot.ends_at,
          requesterId: requester,
          partnerId: PARTNER_ID,
          idempotencyKey: key,
          metadata: { name, request },
        },
        partnerActor(name),
      ).then(
        (result) => ({ outcome: 'ok', replayedOtherRequest: result.reservation.metadata.request !== request }),
        (error: unknown) => ({ outcome: error instanceof BookijiError ? error.code : String(error), replayedOtherRequest: false }),
      );
    const second = reuseKey('second');
    const raced = await waitUntilBlockedBy(first, holderPid);
    await first.query('COMMIT');
    const during = await second;
    // The same key once the first has committed: the first key lookup's path, not the unique violation's.
    const afterCommit = await reuseKey('third');
    return {
      reservation: fixture.reservationIds[name],
      raced,
      ...during,
      afterCommit,
      replayedOtherRequest: during.replayedOtherRequest || afterCommit.replayedOtherRequest,
    };
  } catch (error) {
    await first.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    first.release();
  }
}

async function crashAfterCommitRecoveryPoint(pool: Pool, name: string, id: string): Promise<void> {
  await pool.query(`SELECT reservation_begin_commit($1, 'partner', $2, 'simcity')`, [id, `${PARTNER_ID}:${name}`]);
}

async function authorizeBoth(fixture: ReservationFixture, pool: Pool, gateway: PaymentGateway, name: string, id: string): Promise<void> {
  await vendorConfirmReservation(pool, id, vendorActor(fixture));
  await authorizeVendorDeposit(pool, gateway, id, { paymentMethod: 'pm_card_visa' }, vendorActor(fixture));
  await authorizeRequester(pool, gateway, id, { paymentMethod: 'pm_card_visa' }, partnerActor(name));
}

async function commitResumeOneFails(fixture: ReservationFixture, pool: Pool, name: string): Promise<Record<string, unknown>> {
  const elsewhere = await startStripeSandbox({
    apiKey: OTHER_ACCOUNT_KEY,
    webhookSecret: 'whsec_sc9_other_account',
    seed: `${fixture.keyPrefix}${name}-elsewhere`,
  });
  try {
    const otherAccount = new PaymentGateway({ secretKey: OTHER_ACCOUNT_KEY, apiBase: elsewhere.url, webhookSecrets: [], maxNetworkRetries: 0, attemptMax: 1 });
    const lost = await reserve(fixture, pool, name, name, `C${name}`);
    await authorizeBoth(fixture, pool, otherAccount, name, lost);
    const keptName = `${name}b`;
    const kept = await reserve(fixture, pool, keptName, secondSlotOf('commit_resume_one_fails', name)!, `C${name}`);
    await authorizeBoth(fixture, pool, fixture.services.gateway, keptName, kept);
    // The lost one's recovery point first: it is the first reconcile meets.
    await crashAfterCommitRecoveryPoint(pool, name, lost);
    await crashAfterCommitRecoveryPoint(pool, keptName, kept);
    const report = await reconcile(pool, fixture.services.gateway, { dryRun: false, actor: RECONCILE_ACTOR });
    const keptState = (await pool.query('SELECT state FROM reservations WHERE vendor_id = $1 AND id = $2', [fixture.vendorId, kept])).rows[0].state as string;
    const lostRow = report.commitsResumed.find((row) => row.reservationId === lost);
    return { reservation: lost, kept, keptState, lostError: lostRow?.error?.code ?? null };
  } finally {
    await elsewhere.close();
  }
}

/** Each payment of the reservation by role: its status and the cents captured on it. */
async function paymentsByRole(pool: Pool, fixture: ReservationFixture, id: string): Promise<Record<string, { status: string; capturedCents: number }>> {
  const rows = await pool.query('SELECT purpose, status, amount_captured_cents FROM payments WHERE vendor_id = $1 AND reservation_id = $2', [
    fixture.vendorId,
    id,
  ]);
  return Object.fromEntries(
    (rows.rows as Array<{ purpose: string; status: string; amount_captured_cents: number }>).map((r) => [
      r.purpose.replace(/^reservation_/, ''),
      { status: r.status, capturedCents: Number(r.amount_captured_cents) },
    ]),
  );
}

async function captureFailsMidCommit(fixture: ReservationFixture, pool: Pool, name: string): Promise<Record<string, unknown>> {
  const id = await authorizedBoth(fixture, pool, name);
  const { sandbox, gateway } = fixture.services;
  const requesterIntent = (
    await pool.query(`SELECT provider_intent_id FROM payments WHERE vendor_id = $1 AND reservation_id = $2 AND purpose = 'reservation_requester'`, [
      fixture.vendorId,
      id,
    ])
  ).rows[0].provider_intent_id as string;
  // Only the requester's capture fails (its authorization lapsed); the deposit's goes through.
  sandbox.setFaults({ captureExpiredIntents: [requesterIntent] });
  try {
    const after = await commitReservation(pool, gateway, id, partnerActor(name));
    return { reservation: id, state: after.state, payments: await paymentsByRole(pool, fixture, id) };
  } finally {
    sandbox.setFaults({});
  }
}

function moveTo(fixture: ReservationFixture, id: string, state: string): { sql: string; params: unknown[] } {
  return { sql: 'UPDATE reservations SET state = $3 WHERE vendor_id = $1 AND id = $2', params: [fixture.vendorId, id, state] };
}

async function stateOf(pool: Pool, fixture: ReservationFixture, id: string): Promise<string> {
  return (await pool.query('SELECT state FROM reservations WHERE vendor_id = $1 AND id = $2', [fixture.vendorId, id])).rows[0].state as string;
}

async function forbiddenReservationMoves(fixture: ReservationFixture, pool: Pool, name: string): Promise<Record<string, unknown>> {
  const id = await reserve(fixture, pool, name, name, `C${name}`);
  const fresh = await stateOf(pool, fixture, id);
  const skipped = await attemptRolledBack(pool, [moveTo(fixture, id, 'COMMITTED')]);
  await cancelReservation(pool, id, 'SC-9: cancelled before the revive probe', partnerActor(name), fixture.services.gateway);
  const ended = await stateOf(pool, fixture, id);
  const revived = await attemptRolledBack(pool, [moveTo(fixture, id, fresh)]);
  return {
    reservation: id,
    moves: [
      { from: fresh, to: 'COMMITTED', outcome: skipped },
      { from: ended, to: fresh, outcome: revived },
    ],
  };
}

const SCRIPTS: Record<OpeningAttack, (fixture: ReservationFixture, pool: Pool, name: string) => Promise<Record<string, unknown>>> = {
  cancel_after_commit: cancelAfterCommit,
  pay_outside_reservation: payOutsideReservation,
  commit_resumed_late: commitResumedLate,
  late_authorization: lateAuthorization,
  same_key_race: sameKeyRace,
  three_ds_off_session: threeDsOffSession,
  reschedule_outside_reservation: rescheduleOutsideReservation,
  commit_resume_one_fails: commitResumeOneFails,
  capture_fails_mid_commit: captureFailsMidCommit,
  forbidden_reservation_moves: forbiddenReservationMoves,
};

export function runOpeningAttack(kind: OpeningAttack, fixture: ReservationFixture, pool: Pool, name: string): Promise<Record<string, unknown>> {
  return withFaultsOff(fixture.services, () => SCRIPTS[kind](fixture, pool, name));
}
