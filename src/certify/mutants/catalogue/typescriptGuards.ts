// TypeScript mutants: one dist file patched in a copy of the tree that a
// child process runs (patchedTree.ts); the witness runs in that child too,
// so it calls the patched module. The shipped engine is never switched.

import { randomBytes } from 'node:crypto';
import { createApiKey, type AuthenticatedPartner } from '../../../api/apiKeys.js';
import { queryAvailability } from '../../../api/availability.js';
import { createPartnerBooking, getPartnerBooking } from '../../../api/partnerBookings.js';
import { createPartnerReservation, getPartnerReservation } from '../../../api/partnerReservations.js';
import { claimSlot } from '../../../engine/bookings.js';
import { refreshVendorSlots } from '../../../engine/slots.js';
import { postgresRateLimiter } from '../../../api/rateLimit.js';
import { startOutboxDispatcher } from '../../../api/webhookOutbox.js';
import { createPool } from '../../../db/pool.js';
import { handleStripeWebhook } from '../../../api/stripeWebhook.js';
import { signatureHeader } from '../../../stripeSandbox/signature.js';
import { expectOutcome, one, outcomeOf, WITNESS_ACTOR, witnessVendor } from '../fixtures.js';
import type { Mutant, WitnessResult } from '../types.js';
import type { Pool } from '../../../db/pool.js';

const PARTNER_SCOPE = 'WHERE pb.booking_id = $1 AND pb.partner_id = $2';
const RESERVATION_SCOPE = '($2::text IS NULL OR partner_id = $2)';
const LISTING_LIVE_SLOTS = 'WHERE s.vendor_id = $1 AND NOT s.legacy AND s.starts_at >= $2';
const LISTING_FREE_SEATS = 'WHERE c.capacity - c.confirmed - c.holds > 0';
const LIMITER_REFUSAL =
  "throw new BookijiError('DEPENDENCY_UNAVAILABLE', \"the rate limiter's store is unreachable, so the request is refused\", { cause: error });";
const LIMITER_OPEN = 'return { allowed: true, limit: settings.requestsPerWindowMax, remaining: settings.requestsPerWindowMax, retryAfterSeconds: 0 };';
const TOLERANCE = 'const tolerance = config.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS_DEFAULT;';
const DELIVERED_ONLY_ON_SUCCESS = 'if (failure === null) {';
const STALE_SIGNATURE_AGE_SECONDS = 3_600;

async function partner(pool: Parameters<typeof createApiKey>[0], name: string, webhookUrl?: string): Promise<AuthenticatedPartner> {
  const key = await createApiKey(pool, { partner: `${name} ${randomBytes(3).toString('hex')}`, ...(webhookUrl ? { webhookUrl } : {}) });
  return { keyId: key.id, partnerId: key.partnerId, partnerName: key.partnerName };
}

/**
 * A slot with one booking, either full (capacity 1) or with a seat left but
 * removed by a schedule refresh: the real listing offers neither.
 */
async function bookedSlotListed(pool: Pool, kind: 'full' | 'removed'): Promise<WitnessResult> {
  const v = await witnessVendor(pool, [{ startInMinutes: 600, capacity: kind === 'full' ? 1 : 2 }], 1);
  await claimSlot(pool, { slot: v.slots[0], customer: v.customers[0] }, WITNESS_ACTOR);
  const window = { from: new Date(Date.now()), to: new Date(Date.now() + 2 * 86_400_000) };
  if (kind === 'removed') await refreshVendorSlots(pool, v.vendorId, window, [], WITNESS_ACTOR);
  const listed = await queryAvailability(pool, { vendorId: v.vendorId, startTime: window.from.toISOString(), endTime: window.to.toISOString() });
  const shown = listed.slots.some((s) => s.slotId === v.slots[0]);
  return { held: !shown, observed: `a ${kind === 'full' ? 'full slot' : 'removed slot with a seat left'} is listed: ${shown} (the real engine: false)` };
}

export const TYPESCRIPT_GUARD_MUTANTS: Mutant[] = [
  {
    id: 'partner-sees-other-partners-bookings',
    title: 'the partner API looks bookings up by id without the partner (tenant) check',
    language: 'typescript',
    invariants: ['I8'],
    phase: 4,
    expectedCatcher: 'phase 4: privacy through the partner API',
    source: { file: 'src/api/partnerBookings.ts', original: PARTNER_SCOPE, replacement: 'WHERE pb.booking_id = $1 AND $2::uuid IS NOT NULL' },
    patch: { file: 'api/partnerBookings.js', from: PARTNER_SCOPE, to: 'WHERE pb.booking_id = $1 AND $2::uuid IS NOT NULL' },
    async witness({ normal }) {
      const v = await witnessVendor(normal, [{ startInMinutes: 600 }], 1);
      const owner = await partner(normal, 'witness owner');
      const stranger = await partner(normal, 'witness stranger');
      const made = await createPartnerBooking(normal, owner, { slotId: v.slots[0], customerId: v.customers[0], idempotencyKey: 'witness' }, WITNESS_ACTOR);
      const got = await outcomeOf(() => getPartnerBooking(normal, stranger, made.booking.id));
      return expectOutcome('BOOKING_NOT_FOUND', got, 'another partner reading the booking');
    },
  },
  {
    id: 'partner-sees-other-partners-reservations',
    title: "the partner API looks reservations up by id without the partner (tenant) check: any key reads, confirms or cancels another partner's",
    language: 'typescript',
    invariants: ['R4'],
    phase: 4,
    expectedCatcher: 'phase 4: SimCity SC-5 foreign_ids (another partner on our reservation answers like a missing id)',
    source: { file: 'src/reservations/index.ts', original: RESERVATION_SCOPE, replacement: '($2::text IS NULL OR partner_id IS NOT NULL)' },
    patch: { file: 'reservations/index.js', from: RESERVATION_SCOPE, to: '($2::text IS NULL OR partner_id IS NOT NULL)' },
    async witness({ normal }) {
      const v = await witnessVendor(normal, [{ startInMinutes: 24 * 60, priceCents: 5_000 }], 1);
      const slot = await one<{ starts_at: Date; ends_at: Date }>(normal, 'SELECT starts_at, ends_at FROM slots WHERE id = $1', [v.slots[0]]);
      const owner = await partner(normal, 'witness owner');
      const stranger = await partner(normal, 'witness stranger');
      const made = await createPartnerReservation(
        normal,
        owner,
        {
          vendorId: v.vendorId,
          slotStartTime: slot.starts_at.toISOString(),
          slotEndTime: slot.ends_at.toISOString(),
          requesterId: v.customers[0],
          idempotencyKey: 'witness',
        },
        WITNESS_ACTOR,
      );
      const got = await outcomeOf(() => getPartnerReservation(normal, stranger, made.reservation.id));
      return expectOutcome('RESERVATION_NOT_FOUND', got, 'another partner reading the reservation');
    },
  },
  {
    id: 'availability-lists-removed-slots',
    title: 'availability lists slots a schedule refresh removed (legacy), which take no new bookings',
    language: 'typescript',
    invariants: ['I7'],
    phase: 1,
    expectedCatcher: 'phase 1: SimCity SC-10 listing probe (what availability lists, against the slots the probe made)',
    source: { file: 'src/api/availability.ts', original: LISTING_LIVE_SLOTS, replacement: 'WHERE s.vendor_id = $1 AND s.starts_at >= $2' },
    patch: { file: 'api/availability.js', from: LISTING_LIVE_SLOTS, to: 'WHERE s.vendor_id = $1 AND s.starts_at >= $2' },
    witness: ({ normal }) => bookedSlotListed(normal, 'removed'),
  },
  {
    id: 'availability-lists-full-slots',
    title: 'availability lists slots with no seat left',
    language: 'typescript',
    invariants: ['I1'],
    phase: 1,
    expectedCatcher: 'phase 1: SimCity SC-10 listing probe (what availability lists, against the slots the probe made)',
    source: { file: 'src/api/availability.ts', original: LISTING_FREE_SEATS, replacement: 'WHERE true' },
    patch: { file: 'api/availability.js', from: LISTING_FREE_SEATS, to: 'WHERE true' },
    witness: ({ normal }) => bookedSlotListed(normal, 'full'),
  },
  {
    id: 'rate-limiter-fails-open',
    title: 'the rate limiter lets requests through when its store cannot be reached',
    language: 'typescript',
    invariants: [],
    phase: 4,
    expectedCatcher: "phase 4 (SimCity SC-5: the limiter's store cut off mid-count must answer 503 DEPENDENCY_UNAVAILABLE, not serve the request)",
    source: { file: 'src/api/rateLimit.ts', original: LIMITER_REFUSAL, replacement: LIMITER_OPEN },
    patch: { file: 'api/rateLimit.js', from: LIMITER_REFUSAL, to: LIMITER_OPEN },
    async witness({ normalConnectionString }) {
      const url = new URL(normalConnectionString);
      url.pathname = `/bookiji_no_such_database_${randomBytes(4).toString('hex')}`;
      const unreachable = createPool({ connectionString: url.toString(), max: 1 });
      unreachable.on('error', () => undefined);
      try {
        const got = await outcomeOf(() => postgresRateLimiter(unreachable).take('00000000-0000-4000-8000-000000000000'));
        return expectOutcome('DEPENDENCY_UNAVAILABLE', got, "a request counted while the limiter's database is unreachable");
      } finally {
        await unreachable.end().catch(() => undefined);
      }
    },
  },
  {
    id: 'webhook-accepts-stale-signatures',
    title: 'the Stripe webhook accepts signatures a thousand times older than its tolerance',
    language: 'typescript',
    invariants: [],
    phase: 4,
    expectedCatcher: 'phase 4 (SimCity SC-5: a correctly signed webhook an hour old must be refused 401, nothing stored); phase 2 only sends fresh ones',
    source: {
      file: 'src/api/stripeWebhook.ts',
      original: TOLERANCE,
      replacement: 'const tolerance = (config.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS_DEFAULT) * 1000;',
    },
    patch: { file: 'api/stripeWebhook.js', from: TOLERANCE, to: 'const tolerance = (config.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS_DEFAULT) * 1000;' },
    async witness({ normal }) {
      const secret = `whsec_witness_${randomBytes(8).toString('hex')}`;
      const body = JSON.stringify({
        id: `evt_witness_${randomBytes(6).toString('hex')}`,
        object: 'event',
        type: 'payment_intent.created',
        created: 1,
        livemode: false,
        data: { object: { id: 'pi_witness_unknown', object: 'payment_intent', metadata: {} } },
      });
      const old = Math.floor(Date.now() / 1000) - STALE_SIGNATURE_AGE_SECONDS;
      const response = await handleStripeWebhook(normal, Buffer.from(body), { 'stripe-signature': signatureHeader(body, secret, old) }, { secrets: [secret] });
      return { held: response.status === 401, observed: `a correctly signed event an hour old: HTTP ${response.status} (the real engine: 401)` };
    },
  },
  {
    id: 'outbox-marks-failed-deliveries-delivered',
    title: 'the webhook outbox marks an event delivered whatever the partner answered',
    language: 'typescript',
    invariants: [],
    phase: 5,
    expectedCatcher: "phase 5 (SimCity SC-6: a partner's webhook receiver down must leave the event due, its attempt and error recorded)",
    source: { file: 'src/api/webhookOutbox.ts', original: DELIVERED_ONLY_ON_SUCCESS, replacement: 'if (true) {' },
    patch: { file: 'api/webhookOutbox.js', from: DELIVERED_ONLY_ON_SUCCESS, to: 'if (true) {' },
    async witness({ normal }) {
      // Port 9 (discard) on loopback: nothing listens, the delivery fails.
      const receiverDown = await partner(normal, 'witness receiver down', 'http://127.0.0.1:9/hooks');
      const row = await one<{ id: number }>(
        normal,
        `INSERT INTO webhook_outbox (partner_id, event_type, payload) VALUES ($1, 'witness.event', '{}') RETURNING id`,
        [receiverDown.partnerId],
      );
      const dispatcher = startOutboxDispatcher(normal, { pollIntervalMs: 3_600_000, requestTimeoutMs: 1_000, leaseMs: 5_000 });
      try {
        await dispatcher.runOnce();
      } finally {
        await dispatcher.stop();
      }
      const delivered = (await one<{ d: Date | null }>(normal, 'SELECT delivered_at AS d FROM webhook_outbox WHERE id = $1', [row.id])).d;
      return {
        held: delivered === null,
        observed: `an event whose partner's receiver is down: ${delivered === null ? 'still due' : 'marked DELIVERED'} (the real engine keeps it due)`,
      };
    },
  },
];
