// SC-6's partner-receiver-down opening: a partner's webhook receiver that
// answers 500 must leave the outbox event due (not delivered, the attempt
// counted, the failure recorded); once the backoff has passed and the
// receiver is up, one pass delivers it, and a further pass does not send it
// again (delivered once). The delivery passes run the shipped outbox
// dispatcher in this process (`serve` runs with --no-outbox).

import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Pool } from '../../db/pool.js';
import { startOutboxDispatcher } from '../../api/webhookOutbox.js';
import type { HistoryEvent } from '../types.js';
import type { Finding } from './driver.js';

interface Receiver {
  url: string;
  up: boolean;
  /** Deliveries of the watched event the receiver answered 2xx. */
  accepted: number;
  server: Server;
}

async function startReceiver(eventId: () => string): Promise<Receiver> {
  const receiver: Receiver = { url: '', up: false, accepted: 0, server: createServer() };
  receiver.server.on('request', (request, response) => {
    request.resume();
    const watched = request.headers['bookiji-event-id'] === eventId();
    if (receiver.up && watched) receiver.accepted += 1;
    response.writeHead(receiver.up ? 200 : 500).end();
  });
  await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}/hooks`;
  return receiver;
}

interface OutboxRow {
  delivered: boolean;
  attempts: number;
  lastError: string | null;
}

const outboxRow = async (pool: Pool, id: number): Promise<OutboxRow> =>
  (await pool.query('SELECT delivered_at IS NOT NULL AS delivered, attempts, last_error AS "lastError" FROM webhook_outbox WHERE id = $1', [id]))
    .rows[0] as OutboxRow;

/** One pass of the shipped dispatcher: no polling of its own, a short request timeout. */
async function deliveryPass(pool: Pool): Promise<void> {
  const dispatcher = startOutboxDispatcher(pool, { pollIntervalMs: 3_600_000, requestTimeoutMs: 2_000, leaseMs: 10_000 });
  try {
    await dispatcher.runOnce();
  } finally {
    await dispatcher.stop();
  }
}

export async function partnerReceiverDown(pool: Pool, runId: string): Promise<Record<string, unknown>> {
  let eventId = '';
  const receiver = await startReceiver(() => eventId);
  try {
    const { createApiKey } = await import('../../api/apiKeys.js');
    const partner = await createApiKey(pool, { partner: `SimCity SC-6 receiver ${runId} ${randomBytes(3).toString('hex')}`, webhookUrl: receiver.url });
    const row = (
      await pool.query(`INSERT INTO webhook_outbox (partner_id, event_type, payload) VALUES ($1, 'simcity.receiver_down', '{}') RETURNING id, event_id`, [
        partner.partnerId,
      ])
    ).rows[0] as { id: number; event_id: string };
    eventId = row.event_id;
    await deliveryPass(pool);
    const whileDown = await outboxRow(pool, row.id);
    // The backoff has passed and the receiver is back.
    await pool.query('UPDATE webhook_outbox SET next_attempt_at = clock_timestamp() WHERE id = $1 AND delivered_at IS NULL', [row.id]);
    receiver.up = true;
    await deliveryPass(pool);
    await deliveryPass(pool);
    return { whileDown, afterUp: await outboxRow(pool, row.id), accepted: receiver.accepted };
  } finally {
    await new Promise<void>((resolve) => receiver.server.close(() => resolve()));
  }
}

export function receiverDownChecks(event: HistoryEvent): Finding[] {
  if (event.type !== 'ok' || event.action !== 'partner_receiver_down') return [];
  const { whileDown, afterUp, accepted } = event.value as { whileDown: OutboxRow; afterUp: OutboxRow; accepted: number };
  const findings: Finding[] = [];
  if (whileDown.delivered || whileDown.attempts !== 1 || whileDown.lastError === null) {
    findings.push({
      oracle: 'outbox-keeps-failed-due',
      message: `a delivery the partner's receiver answered 500 left the event ${whileDown.delivered ? 'marked DELIVERED' : 'due'} with ${whileDown.attempts} attempt(s) and error ${String(whileDown.lastError)} (needs: due, 1 attempt, the failure recorded)`,
      evidence: whileDown,
    });
  }
  if (!afterUp.delivered || accepted !== 1) {
    findings.push({
      oracle: 'outbox-keeps-failed-due',
      message: `with the receiver up again the event was ${afterUp.delivered ? 'delivered' : 'not delivered'} and received ${accepted} time(s) (needs: delivered once)`,
      evidence: { afterUp, accepted },
    });
  }
  return findings;
}
