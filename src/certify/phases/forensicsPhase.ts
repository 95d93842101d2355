// Phase 6, forensics: a booking driven through a messy history (a hold under
// an idempotency key and its retry, a refused card confirmation, reschedules
// of the hold and of the confirmed booking, a confirmation, a cancellation)
// is reconstructed with customer, slot, timeline, causes and resolution, and
// no unknowns. When the payments module is installed, a card booking is
// driven through payment, webhook (delivered twice) and cancellation too, and
// its payment records, ledger and provider events must appear in the
// reconstruction, still with no unknowns.

import { reconstructBooking } from '../../forensics/index.js';
import type { PhaseContext } from '../context.js';
import { Evidence } from '../evidence.js';
import { driveMessyHistory, driveMessyPaymentHistory, paymentsInstalled } from '../../simcity/messyHistory.js';
import type { PhaseOutcome } from './atomicSlot.js';
import { checkInvariants } from './shared.js';

export async function runForensicsPhase(ctx: PhaseContext): Promise<PhaseOutcome> {
  const evidence = new Evidence();
  const pool = ctx.normal.pool;
  const numbers: Record<string, number | string> = {};
  await evidence.check('a booking with a messy history is reconstructed with no unknowns', async () => {
    const history = await driveMessyHistory(pool, `certify-${ctx.seed}-${Date.now()}`);
    const report = await reconstructBooking(pool, history.bookingId);
    const transitions = report.timeline.filter((e) => e.kind === 'transition');
    const withoutCause = report.timeline.filter((e) => (e.kind === 'transition' || e.kind === 'audit') && (!e.cause || !e.actor || !e.source));
    const expectedMoves = 5; // created held, held → held, held → confirmed, confirmed → confirmed, confirmed → cancelled
    numbers.timelineEntries = report.timeline.length;
    numbers.unknowns = report.unknowns.length;
    const parts = {
      user: report.customer.name === 'Ada L.' && report.customer.email.startsWith('a***@'),
      slot: report.slot.id === history.slotIds[2] && report.previousSlotIds.length === 2,
      timeline: transitions.length === expectedMoves,
      cause: withoutCause.length === 0,
      resolution: report.state === 'cancelled' && report.resolution.includes('customer fell ill'),
    };
    const missing = Object.entries(parts).filter(([, ok]) => !ok).map(([part]) => part);
    return {
      passed: report.explained && missing.length === 0,
      detail: `${history.steps.length} steps (${history.steps.join('; ')}); reconstruction: ${report.timeline.length} timeline entries (${transitions.length} transitions), user ${parts.user ? '✓' : '✗'}, slot ${parts.slot ? '✓' : '✗'}, timeline ${parts.timeline ? '✓' : '✗'}, cause ${parts.cause ? '✓' : '✗'}, resolution ${parts.resolution ? '✓' : '✗'} (${report.resolution}); ${report.unknowns.length} unknown(s)${report.unknowns.length ? `: ${report.unknowns.slice(0, 5).map((u) => `${u.kind}: ${u.detail}`).join(' | ')}` : ''}${report.relatedTables.length ? `; payment records from ${report.relatedTables.join(', ')}` : ''}`,
      numbers: { timelineEntries: report.timeline.length, transitions: transitions.length, unknowns: report.unknowns.length },
    };
  });
  if (await paymentsInstalled(pool)) {
    await evidence.check('a card booking through payment, webhook duplicates and cancellation is reconstructed with no unknowns', async () => {
      const history = await driveMessyPaymentHistory(pool, `certify${ctx.seed}${Date.now()}`);
      const report = await reconstructBooking(pool, history.bookingId);
      const related = report.timeline.filter((e) => e.kind === 'related');
      const webhook = related.filter((e) => e.ref.startsWith('stripe_events#') || e.source === 'webhook');
      const duplicateSeen = related.some((e) => e.summary.includes('outcome=unchanged'));
      const confirmedByWebhook = report.timeline.some((e) => e.kind === 'transition' && e.summary === 'held → confirmed' && e.source === 'webhook');
      numbers.paymentTimelineEntries = report.timeline.length;
      return {
        passed: report.explained && webhook.length > 0 && duplicateSeen && confirmedByWebhook,
        detail: `${history.steps.join('; ')}; reconstruction: ${report.timeline.length} entries from bookings and ${report.relatedTables.join(', ')}; confirmed by webhook ${confirmedByWebhook ? '✓' : '✗'}, duplicate delivery visible ${duplicateSeen ? '✓' : '✗'}; ${report.unknowns.length} unknown(s)${report.unknowns.length ? `: ${report.unknowns.slice(0, 5).map((u) => `${u.kind}: ${u.detail}`).join(' | ')}` : ''}`,
        numbers: { timelineEntries: report.timeline.length, webhookEntries: webhook.length, unknowns: report.unknowns.length },
      };
    });
  }
  await checkInvariants(evidence, pool, 'normal');
  return { checks: evidence.checks, numbers };
}
