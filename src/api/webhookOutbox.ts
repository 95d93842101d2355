// Delivery of the webhook outbox to partners.
//
// Rows are written by triggers in the transaction of the change (migration
// 0020), so an event exists exactly when its change committed. Delivery is
// at least once: a batch is leased (attempts + 1, next attempt pushed past
// the lease) before any request goes out, so a process killed mid-delivery
// leaves rows that another process, or the same one restarted, picks up once
// the lease runs out. A partner may therefore see an event twice, always with
// the same event id (`Bookiji-Event-Id`), and must deduplicate on it.
//
// Failed attempts back off exponentially (with jitter) up to a cap; there is
// no attempt limit, because giving up would lose the event.
//
// Signature: `Bookiji-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
// "<t>.<body>" with the partner's webhook secret>`.
//
// Times here are wall-clock (clock_timestamp()), not the business clock: a
// simulated clock that stands still must not stop deliveries.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { BookijiError } from '../errors.js';
import type { Pool } from '../db/pool.js';

export interface OutboxSettings {
  pollIntervalMs: number;
  batchMax: number;
  leaseMs: number;
  requestTimeoutMs: number;
  backoffBaseMs: number;
  backoffCapMs: number;
}

export const OUTBOX_DEFAULTS: OutboxSettings = {
  pollIntervalMs: 500,
  batchMax: 20,
  leaseMs: 30_000,
  requestTimeoutMs: 5_000,
  backoffBaseMs: 1_000,
  backoffCapMs: 10 * 60_000,
};

export interface DeliveryCounters {
  delivered: number;
  failed: number;
}

export interface OutboxDispatcher {
  /** Leases one batch of due events and attempts each once; returns how many were attempted. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
  counters: DeliveryCounters;
}

export function signWebhook(secret: string, timestampSeconds: number, body: string): string {
  const digest = createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex');
  return `t=${timestampSeconds},v1=${digest}`;
}

/** What a partner runs to check that a webhook is ours. */
export function verifyWebhookSignature(secret: string, header: string, body: string): boolean {
  const parts = Object.fromEntries(header.split(',').map((part) => part.split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || typeof parts.v1 !== 'string') return false;
  const expected = Buffer.from(signWebhook(secret, t, body).split('v1=')[1]!, 'hex');
  const given = Buffer.from(parts.v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function backoffMs(attempts: number, settings: Pick<OutboxSettings, 'backoffBaseMs' | 'backoffCapMs'>): number {
  const ceiling = Math.min(settings.backoffCapMs, settings.backoffBaseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

interface LeasedEvent {
  id: number;
  event_id: string;
  event_type: string;
  payload: Record<string, unknown>;
  created_at: Date;
  attempts: number;
  webhook_url: string;
  webhook_secret: string;
}

/** Sends one leased event; records it delivered, or its failure and the next attempt's time. */
async function deliverEvent(pool: Pool, event: LeasedEvent, settings: OutboxSettings, counters: DeliveryCounters): Promise<void> {
  const body = JSON.stringify({ id: event.event_id, type: event.event_type, createdAt: event.created_at.toISOString(), data: event.payload });
  let failure: string | null = null;
  try {
    const response = await fetch(event.webhook_url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'bookiji-event-id': event.event_id,
        'bookiji-event-type': event.event_type,
        'bookiji-signature': signWebhook(event.webhook_secret, Math.floor(Date.now() / 1000), body),
      },
      body,
      signal: AbortSignal.timeout(settings.requestTimeoutMs),
    });
    await response.arrayBuffer().catch(() => undefined);
    if (!response.ok) failure = `HTTP ${response.status}`;
  } catch (error) {
    failure = (error as Error).message;
  }
  if (failure === null) {
    await pool.query('UPDATE webhook_outbox SET delivered_at = clock_timestamp(), last_error = NULL WHERE id = $1', [event.id]);
    counters.delivered += 1;
  } else {
    await pool.query(
      `UPDATE webhook_outbox SET next_attempt_at = clock_timestamp() + make_interval(secs => $2::double precision / 1000), last_error = $3 WHERE id = $1`,
      [event.id, backoffMs(event.attempts, settings), failure.slice(0, 500)],
    );
    counters.failed += 1;
  }
}

/** Leases up to batchMax due events (SKIP LOCKED, so processes share the work), oldest first. */
async function leaseDueEvents(pool: Pool, settings: OutboxSettings): Promise<LeasedEvent[]> {
  const leased = await pool.query<LeasedEvent>(
    `UPDATE webhook_outbox o SET attempts = o.attempts + 1, next_attempt_at = clock_timestamp() + make_interval(secs => $2::double precision / 1000)
     FROM partners p
     WHERE p.id = o.partner_id AND o.id IN (
       SELECT id FROM webhook_outbox WHERE delivered_at IS NULL AND next_attempt_at <= clock_timestamp()
       ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
     RETURNING o.id, o.event_id, o.event_type, o.payload, o.created_at, o.attempts, p.webhook_url, p.webhook_secret`,
    [settings.batchMax, settings.leaseMs],
  );
  return leased.rows.sort((a, b) => a.id - b.id);
}

export function startOutboxDispatcher(
  pool: Pool,
  overrides: Partial<OutboxSettings> = {},
  hooks: { onError?: (error: unknown) => void } = {},
): OutboxDispatcher {
  const settings = { ...OUTBOX_DEFAULTS, ...overrides };
  // A lease shorter than a request could let a second process send an event
  // whose first delivery is still in flight.
  if (settings.leaseMs <= settings.requestTimeoutMs) {
    throw new BookijiError('VALIDATION_ERROR', `webhook-lease-ms: must exceed the request timeout (${settings.requestTimeoutMs} ms)`, {
      details: { field: 'webhook-lease-ms' },
    });
  }
  const counters: DeliveryCounters = { delivered: 0, failed: 0 };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;

  async function runOnce(): Promise<number> {
    const events = await leaseDueEvents(pool, settings);
    await Promise.all(events.map((event) => deliverEvent(pool, event, settings, counters)));
    return events.length;
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      running = runOnce()
        .catch((error: unknown) => {
          hooks.onError?.(error);
          return 0;
        })
        .finally(schedule);
    }, settings.pollIntervalMs);
  }
  schedule();

  return {
    runOnce,
    counters,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
