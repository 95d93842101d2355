// SC-9's exercised counting: which invariants' dangerous state a completed
// action reached, so a report can tell "held" from "never tested". An
// invariant counts only when the action put the engine where a broken one
// would have violated it (a committed booking cancelled, money arriving for
// a finished reservation, a commit outstanding past the slot's start, a claim
// meeting an expired hold, one capture failing mid-commit, a forbidden move
// attempted through the engine or written directly).

import type { HistoryEvent } from '../types.js';
import type { ReservationTruth } from './reservationsOracles.js';

type Value = Record<string, unknown>;

function attackExercised(action: string, value: Value): string[] {
  switch (action) {
    case 'cancel_after_commit':
      return value.committed === 'COMMITTED' ? ['R1', 'R3', 'I4'] : [];
    case 'pay_outside_reservation':
      return ['R1', 'I4'];
    case 'commit_resumed_late':
      return value.during === 'COMMIT_IN_PROGRESS' ? ['I5', 'R1', 'R2'] : [];
    case 'late_authorization': {
      const competitor = (value.competitor ?? {}) as Value;
      return [...(value.lateIntent === 'requires_capture' ? ['R3', 'I4'] : []), ...(Number(competitor.expiredHoldsBefore ?? 0) > 0 ? ['I9'] : [])];
    }
    case 'same_key_race':
      return value.raced === true ? ['I6'] : [];
    // A confirm with a card that needs 3-D Secure reached the provider: an engine confirming on-session leaves it waiting.
    case 'three_ds_off_session':
      return value.intentStatus !== null && value.intentStatus !== undefined ? ['R3'] : [];
    // The reschedule reached the engine with a free slot of the same price: an unguarded engine moves the booking.
    // One commit's resumption failed before another's: a reconcile without a per-reservation boundary stops there.
    case 'commit_resume_one_fails':
      return value.lostError !== null && value.lostError !== undefined ? ['R2'] : [];
    case 'reschedule_outside_reservation':
      return value.refused === false || value.code === 'INVALID_TRANSITION' ? ['R1'] : [];
    // At the commit's finish one capture had gone through and the other had failed: an engine committing on one capture commits here.
    case 'capture_fails_mid_commit': {
      const payments = (value.payments ?? {}) as Record<string, { status?: string; capturedCents?: number }>;
      return payments.requester?.status === 'canceled' && Number(payments.vendor_deposit?.capturedCents ?? 0) > 0 ? ['R2', 'R3'] : [];
    }
    // The forbidden moves reached the database as writes: an engine whose machine does not check them takes them.
    case 'forbidden_reservation_moves': {
      const moves = (value.moves ?? []) as Array<{ outcome?: string }>;
      return moves.length > 0 && moves.every((m) => m.outcome === 'ACCEPTED' || String(m.outcome).startsWith('refused')) ? ['R4'] : [];
    }
    default:
      return [];
  }
}

function stateBefore(truth: ReservationTruth, reservationId: unknown): { state: string; terminal: boolean } | undefined {
  return truth.reservations.find((r) => r.id === reservationId);
}

function stepExercised(event: HistoryEvent, truth: ReservationTruth, reservationId: string | undefined): string[] {
  const value = event.value ?? {};
  const before = stateBefore(truth, reservationId);
  switch (event.action) {
    case 'cancel_booking':
    case 'cancel_reservation':
      return before?.state === 'COMMITTED' ? ['R1', 'R3', 'I4'] : ['R3'];
    case 'retry_requester':
    case 'complete_3ds':
      return value.status === 'requires_capture' && before?.terminal ? ['R3', 'I4'] : [];
    case 'commit':
    case 'commit_provider_down':
      return value.state === 'FAILED_COMMIT' || value.state === 'COMMIT_IN_PROGRESS' ? ['R2', 'R3'] : value.state === 'COMMITTED' ? ['R1', 'R2'] : [];
    case 'authorize_vendor':
    case 'authorize_requester':
      return String(value.state ?? '').startsWith('FAILED_') ? ['R3'] : [];
    case 'competing_claim':
      return Number(value.expiredHoldsBefore ?? 0) > 0 ? ['I9'] : [];
    default:
      return [];
  }
}

export function exercisedBy(event: HistoryEvent, truth: ReservationTruth, reservationIds: Record<string, string>): readonly string[] {
  if (event.type === 'fail' && event.error === 'INVALID_TRANSITION') return ['R4'];
  if (event.type !== 'ok') return [];
  const attack = attackExercised(event.action, event.value ?? {});
  if (attack.length > 0) return attack;
  return stepExercised(event, truth, reservationIds[String(event.args.reservation ?? '')]);
}
