import type { ExpiredHold } from '../engine/holds.js';
import type { Actor } from '../engine/types.js';
import type { SettleStep } from '../payments/actions.js';

export interface ReconcileOptions {
  dryRun: boolean;
  actor: Actor;
  /** How far before our newest stored event to ask the provider for events, seconds. */
  eventLookbackSeconds?: number;
  /** Payments looked at per part, at most. */
  batchMax?: number;
}

export interface StepError {
  code: string;
  message: string;
  retryable: boolean;
}

export interface PaymentRepair {
  paymentId: string;
  bookingId: string;
  before: { status: string; pendingAction: string };
  after: { status: string; pendingAction: string } | null;
  steps: SettleStep[];
  error: string | null;
  skipped: boolean;
}

export interface DriftRow {
  paymentId: string;
  providerIntentId: string;
  oursCapturedCents: number;
  providerCapturedCents: number;
  oursRefundedCents: number;
  providerRefundedCents: number;
  ledgerCapturedCents: number;
  ledgerRefundedCents: number;
  agrees: boolean;
  /** Ours differed from the provider and the provider's word was applied (not in a dry run). */
  synced: boolean;
  /** The provider could not return this payment's intent; the other payments went on. */
  error: StepError | null;
}

/** The parts that need the payment provider, as reported when one is skipped. */
export type ProviderStep = 'provider events' | 'owed provider calls and open payments' | 'reservation commits' | 'drift against the provider';

export const PROVIDER_STEPS: ProviderStep[] = ['provider events', 'owed provider calls and open payments', 'reservation commits', 'drift against the provider'];

export interface SkippedStep {
  step: ProviderStep;
  reason: string;
  hint: string;
  /** Null when skipping is expected (no provider configured); the failure when the provider could not be reached. */
  error: StepError | null;
}

export interface ReconcileReport {
  dryRun: boolean;
  expiredHolds: ExpiredHold[];
  /** Holds past their TTL this run listed but had to skip (a running request held their slot): the next run expires them. Empty on a dry run. */
  stillHeld: string[];
  eventsRecovered: string[];
  eventsReapplied: string[];
  repairs: PaymentRepair[];
  /** Reservations whose commit was left in progress, and where they ended; `error` when this one could not be finished (the others went on). */
  commitsResumed: Array<{ reservationId: string; state: string; error: StepError | null }>;
  drift: DriftRow[];
  /** Parts not done, with why and what to do. */
  skipped: SkippedStep[];
  totals: { oursNetCents: number; providerNetCents: number; ledgerNetCents: number; driftCount: number; unreadCount: number };
}

export function stepError(error: unknown): StepError {
  const e = error as { code?: unknown; message?: unknown; retryable?: unknown };
  return { code: typeof e.code === 'string' ? e.code : 'INTERNAL_ERROR', message: String(e.message ?? error), retryable: e.retryable === true };
}

/** What makes `bookiji reconcile` exit 1: a payment not repaired, a commit not finished, drift, a payment or step the provider could not serve. */
export function reconcileFailureCount(report: ReconcileReport): number {
  return (
    report.repairs.filter((r) => r.error !== null).length +
    report.commitsResumed.filter((c) => c.error !== null).length +
    report.totals.driftCount +
    report.totals.unreadCount +
    report.skipped.filter((s) => s.error !== null).length
  );
}
