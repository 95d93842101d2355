// /metrics in the Prometheus text format (version 0.0.4), with prom-client.
// Request counts and latencies are kept in this process; the gauges that
// describe the system (bookings by state, holds and reservations pending,
// outbox depth and lag) are read from the database at scrape time, so every
// `serve` process reports the same truth about them. Each server has its own
// registry: several servers may run in one process (tests, SimCity).

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Pool } from '../db/pool.js';
import type { DeliveryCounters } from './webhookOutbox.js';

/** Latency histogram buckets, in seconds (Prometheus convention). */
const LATENCY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class RequestMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'bookiji_http_requests_total',
    help: 'HTTP requests by method, route and status.',
    labelNames: ['method', 'route', 'status'],
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'bookiji_http_request_duration_seconds',
    help: 'HTTP request latency by method and route.',
    labelNames: ['method', 'route'],
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [this.registry],
  });
  private readonly webhookEvents = new Counter({
    name: 'bookiji_webhooks_received_total',
    help: 'Incoming payment webhooks by outcome.',
    labelNames: ['outcome'],
    registers: [this.registry],
  });

  constructor() {
    for (const outcome of ['accepted', 'rejected']) this.webhookEvents.inc({ outcome }, 0);
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    this.requests.inc({ method, route, status: String(status) });
    this.latency.observe({ method, route }, seconds);
  }

  /** An incoming payment-provider webhook, accepted or rejected. */
  webhookReceived(outcome: 'accepted' | 'rejected'): void {
    this.webhookEvents.inc({ outcome });
  }
}

/** Registers the database-backed gauges (read at each scrape) and this process's delivery counters. */
export function registerSystemMetrics(metrics: RequestMetrics, pool: Pool, deliveries: DeliveryCounters | null): void {
  const registers = [metrics.registry];
  new Gauge({
    name: 'bookiji_bookings',
    help: 'Bookings by state.',
    labelNames: ['state'],
    registers,
    async collect() {
      const states = await pool.query(
        `SELECT s.state, (SELECT count(*) FROM bookings b WHERE b.state = s.state) AS n FROM machine_states s WHERE s.machine = 'booking' ORDER BY s.state`,
      );
      this.reset();
      for (const row of states.rows) this.set({ state: String(row.state) }, Number(row.n));
    },
  });
  const scalar = (name: string, help: string, read: () => Promise<number | null>) =>
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        const value = await read();
        if (value !== null) this.set(value);
      },
    });
  scalar('bookiji_holds_pending', 'Unexpired holds.', async () =>
    count(pool, `SELECT count(*) AS n FROM bookings WHERE state = 'held' AND hold_expires_at > bookiji_now()`),
  );
  // The reservations table belongs to the reservation work; "pending" is any
  // reservation not yet in a final state of its machine.
  scalar('bookiji_reservations_pending', 'Reservations not in a final state.', async () =>
    count(
      pool,
      `SELECT count(*) AS n FROM reservations r WHERE NOT EXISTS (SELECT 1 FROM machine_states s WHERE s.machine = 'reservation' AND s.state = r.state AND s.terminal)`,
    ).catch(() => null),
  );
  scalar('bookiji_outbox_depth', 'Partner webhook events not yet delivered.', async () =>
    count(pool, 'SELECT count(*) AS n FROM webhook_outbox WHERE delivered_at IS NULL'),
  );
  scalar('bookiji_outbox_lag_seconds', 'Age of the oldest undelivered partner webhook event.', async () =>
    count(pool, 'SELECT coalesce((SELECT extract(epoch FROM clock_timestamp() - min(created_at)) FROM webhook_outbox WHERE delivered_at IS NULL), 0) AS n'),
  );
  if (deliveries) {
    // The dispatcher counts; the counter mirrors its totals at each scrape.
    new Counter({
      name: 'bookiji_outbox_deliveries_total',
      help: 'Partner webhook delivery attempts by this process, by outcome.',
      labelNames: ['outcome'],
      registers,
      collect() {
        this.reset();
        this.inc({ outcome: 'delivered' }, deliveries.delivered);
        this.inc({ outcome: 'failed' }, deliveries.failed);
      },
    });
  }
}

async function count(pool: Pool, sql: string): Promise<number> {
  return Number((await pool.query(sql)).rows[0]!.n);
}
