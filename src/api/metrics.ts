// /metrics in the Prometheus text format (version 0.0.4). Request counts and
// latencies are kept in this process; the gauges that describe the system
// (bookings by state, holds and reservations pending, outbox depth and lag)
// are read from the database at scrape time, so every `serve` process
// reports the same truth about them.

import type { Pool } from '../db/pool.js';
import type { DeliveryCounters } from './webhookOutbox.js';

/** Latency histogram buckets, in seconds (Prometheus convention). */
const LATENCY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Histogram {
  buckets: number[];
  sum: number;
  count: number;
}

export class RequestMetrics {
  private readonly requests = new Map<string, number>();
  private readonly latency = new Map<string, Histogram>();
  private readonly webhookEvents = new Map<string, number>();

  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method}\u0000${route}\u0000${status}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    const latencyKey = `${method}\u0000${route}`;
    const histogram = this.latency.get(latencyKey) ?? { buckets: LATENCY_BUCKETS_SECONDS.map(() => 0), sum: 0, count: 0 };
    LATENCY_BUCKETS_SECONDS.forEach((bound, index) => {
      if (seconds <= bound) histogram.buckets[index]! += 1;
    });
    histogram.sum += seconds;
    histogram.count += 1;
    this.latency.set(latencyKey, histogram);
  }

  /** An incoming payment-provider webhook, accepted or rejected. */
  webhookReceived(outcome: 'accepted' | 'rejected'): void {
    this.webhookEvents.set(outcome, (this.webhookEvents.get(outcome) ?? 0) + 1);
  }

  lines(): string[] {
    const out: string[] = [];
    out.push('# HELP bookiji_http_requests_total HTTP requests by method, route and status.', '# TYPE bookiji_http_requests_total counter');
    for (const [key, count] of [...this.requests].sort()) {
      const [method, route, status] = key.split('\u0000');
      out.push(`bookiji_http_requests_total{method="${method}",route="${escape(route!)}",status="${status}"} ${count}`);
    }
    out.push('# HELP bookiji_http_request_duration_seconds HTTP request latency by method and route.', '# TYPE bookiji_http_request_duration_seconds histogram');
    for (const [key, histogram] of [...this.latency].sort()) {
      const [method, route] = key.split('\u0000');
      const labels = `method="${method}",route="${escape(route!)}"`;
      LATENCY_BUCKETS_SECONDS.forEach((bound, index) => out.push(`bookiji_http_request_duration_seconds_bucket{${labels},le="${bound}"} ${histogram.buckets[index]}`));
      out.push(`bookiji_http_request_duration_seconds_bucket{${labels},le="+Inf"} ${histogram.count}`);
      out.push(`bookiji_http_request_duration_seconds_sum{${labels}} ${histogram.sum}`);
      out.push(`bookiji_http_request_duration_seconds_count{${labels}} ${histogram.count}`);
    }
    out.push('# HELP bookiji_webhooks_received_total Incoming payment webhooks by outcome.', '# TYPE bookiji_webhooks_received_total counter');
    for (const outcome of ['accepted', 'rejected']) out.push(`bookiji_webhooks_received_total{outcome="${outcome}"} ${this.webhookEvents.get(outcome) ?? 0}`);
    return out;
  }
}

function escape(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export async function renderMetrics(pool: Pool, requests: RequestMetrics, deliveries: DeliveryCounters | null): Promise<string> {
  const out = requests.lines();
  const states = await pool.query(`SELECT s.state, (SELECT count(*) FROM bookings b WHERE b.state = s.state) AS n FROM machine_states s WHERE s.machine = 'booking' ORDER BY s.state`);
  out.push('# HELP bookiji_bookings Bookings by state.', '# TYPE bookiji_bookings gauge');
  for (const row of states.rows) out.push(`bookiji_bookings{state="${escape(String(row.state))}"} ${row.n}`);
  const gauges = await pool.query(
    `SELECT (SELECT count(*) FROM bookings WHERE state = 'held' AND hold_expires_at > bookiji_now()) AS holds_pending,
            (SELECT count(*) FROM webhook_outbox WHERE delivered_at IS NULL) AS outbox_depth,
            coalesce((SELECT extract(epoch FROM clock_timestamp() - min(created_at)) FROM webhook_outbox WHERE delivered_at IS NULL), 0) AS outbox_lag,
            to_regclass('reservations') IS NOT NULL AS has_reservations`,
  );
  const g = gauges.rows[0]!;
  out.push('# HELP bookiji_holds_pending Unexpired holds.', '# TYPE bookiji_holds_pending gauge', `bookiji_holds_pending ${g.holds_pending}`);
  if (g.has_reservations) {
    // The reservations table belongs to the payments work; "pending" is any
    // reservation not yet in a final state of its machine.
    const pending = await pool.query(
      `SELECT count(*) AS n FROM reservations r WHERE NOT EXISTS (SELECT 1 FROM machine_states s WHERE s.machine = 'reservation' AND s.state = r.state AND s.terminal)`,
    ).catch(() => null);
    if (pending) out.push('# HELP bookiji_reservations_pending Reservations not in a final state.', '# TYPE bookiji_reservations_pending gauge', `bookiji_reservations_pending ${pending.rows[0]!.n}`);
  }
  out.push('# HELP bookiji_outbox_depth Partner webhook events not yet delivered.', '# TYPE bookiji_outbox_depth gauge', `bookiji_outbox_depth ${g.outbox_depth}`);
  out.push('# HELP bookiji_outbox_lag_seconds Age of the oldest undelivered partner webhook event.', '# TYPE bookiji_outbox_lag_seconds gauge', `bookiji_outbox_lag_seconds ${Number(g.outbox_lag)}`);
  if (deliveries) {
    out.push('# HELP bookiji_outbox_deliveries_total Partner webhook delivery attempts by this process, by outcome.', '# TYPE bookiji_outbox_deliveries_total counter');
    out.push(`bookiji_outbox_deliveries_total{outcome="delivered"} ${deliveries.delivered}`, `bookiji_outbox_deliveries_total{outcome="failed"} ${deliveries.failed}`);
  }
  return `${out.join('\n')}\n`;
}
