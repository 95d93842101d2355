// A partner's webhook receiver for the tests: records every delivery, checks
// its signature, and answers as told (ok, refuse with 503, or hang).

import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhookSignature } from '../../src/api/webhookOutbox.js';

export interface Delivery {
  eventId: string;
  type: string;
  body: string;
  signatureValid: boolean;
  answered: number | null;
}

export interface Receiver {
  url: string;
  deliveries: Delivery[];
  mode: 'ok' | 'refuse' | 'hang';
  /** Event ids answered 2xx. */
  acknowledged(): Set<string>;
  close(): Promise<void>;
}

export async function startReceiver(secret: () => string, mode: Receiver['mode'] = 'ok'): Promise<Receiver> {
  const hanging: ServerResponse[] = [];
  const receiver: Receiver = {
    url: '',
    deliveries: [],
    mode,
    acknowledged: () => new Set(receiver.deliveries.filter((d) => d.answered !== null && d.answered < 300).map((d) => d.eventId)),
    close: async () => {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const delivery: Delivery = {
        eventId: String(request.headers['bookiji-event-id']),
        type: String(request.headers['bookiji-event-type']),
        body,
        signatureValid: verifyWebhookSignature(secret(), String(request.headers['bookiji-signature'] ?? ''), body),
        answered: null,
      };
      receiver.deliveries.push(delivery);
      if (receiver.mode === 'hang') {
        hanging.push(response);
        return;
      }
      delivery.answered = receiver.mode === 'ok' ? 200 : 503;
      response.writeHead(delivery.answered).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return receiver;
}

/** Polls until `condition` holds; a deadline only so a broken build fails instead of hanging. */
export async function waitFor(condition: () => Promise<boolean> | boolean, what: string, deadlineMs = 60_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
