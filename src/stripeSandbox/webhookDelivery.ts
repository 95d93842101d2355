// Webhook delivery: at least once, signed as Stripe signs, retried with
// exponential backoff, every attempt recorded.
//
// Each event becomes a delivery job (or none if the fault plan drops it, two
// if it duplicates it). A job POSTs the event JSON to the webhook URL with a
// fresh `Stripe-Signature` per attempt; any 2xx acknowledges it (and sets the
// event's `pending_webhooks` to 0). A non-2xx answer, a connection error or no
// answer within `timeoutMs` is retried after `backoffMs · 2^(attempt-1)`
// (capped at `backoffMaxMs`), up to `attemptMax` attempts in all; after that
// the event stays pending, to be found with `GET /v1/events?delivery_success=false`.
//
// Jobs run concurrently, as Stripe's do, and are started in event order.
// Fault-plan effects: a delayed job sleeps before its first attempt; a
// reordered job is parked until the next started job has made its first
// attempt (or until `flush()` finds nothing else to wait for); a duplicate
// copy starts once the original's first attempt is over.
//
// With `autoDeliver` (the default) jobs start as soon as their event exists
// and a URL is set; otherwise they wait for `flush()`. `flush()` resolves when
// every queued, parked, delayed and retrying job has finished.

import http from 'node:http';
import { BookijiError } from '../errors.js';
import type { EventFaultDecision } from './faultPlan.js';
import { newId } from './ids.js';
import { signatureHeader } from './signature.js';
import type { EventRecord } from './store.js';

export type DeliveryKind = 'automatic' | 'duplicate' | 'manual';
export type DeliveryOutcome = 'delivered' | 'http_error' | 'timeout' | 'network_error';

export interface DeliveryAttempt {
  /** One id per delivery job; a duplicate or a manual redelivery has its own. */
  deliveryId: string;
  eventId: string;
  eventType: string;
  kind: DeliveryKind;
  /** 1 for the first attempt of the job. */
  attempt: number;
  url: string;
  /** Wall-clock ms when the attempt started. */
  startedAt: number;
  durationMs: number;
  /** The `t=` of the Stripe-Signature header sent. */
  signatureTimestamp: number;
  /** HTTP status answered, or null on timeout / connection error. */
  status: number | null;
  outcome: DeliveryOutcome;
  error?: string;
  /** Start of the receiver's answer body (up to 500 characters). */
  responseBody?: string;
  /** Set when another attempt follows: the wait before it. */
  retryInMs?: number;
}

export interface DeliveryOptions {
  secret: string;
  url?: string;
  autoDeliver: boolean;
  attemptMax: number;
  timeoutMs: number;
  backoffMs: number;
  backoffMaxMs: number;
  onDelivered: (eventId: string) => void;
}

interface Job {
  id: string;
  record: EventRecord;
  kind: DeliveryKind;
  delayMs: number;
  reorder: boolean;
  duplicate: boolean;
  released: boolean;
  /** Parked (reordered) jobs that start after this job's first attempt. */
  releases: Job[];
  attempts: DeliveryAttempt[];
}

export class WebhookDispatcher {
  private url: string | undefined;
  private readonly attempts: DeliveryAttempt[] = [];
  private readonly queued: Job[] = [];
  private readonly parked: Job[] = [];
  private readonly active = new Set<Promise<void>>();
  private readonly timers = new Map<NodeJS.Timeout, () => void>();
  private readonly requests = new Set<http.ClientRequest>();
  private closed = false;

  constructor(private readonly opts: DeliveryOptions) {
    this.url = opts.url;
  }

  setUrl(url: string | undefined): void {
    this.url = url;
    if (url && this.opts.autoDeliver) this.dispatchQueued();
  }

  getUrl(): string | undefined {
    return this.url;
  }

  log(): DeliveryAttempt[] {
    return this.attempts.map((a) => ({ ...a }));
  }

  /** Called for each new event with the fault plan's decision for it. */
  enqueue(record: EventRecord, decision: EventFaultDecision): void {
    if (this.closed || decision.drop) return;
    const job = this.makeJob(record, 'automatic', decision.delayMs, decision.reorder, decision.duplicate);
    if (this.url && this.opts.autoDeliver) this.dispatch(job);
    else this.queued.push(job);
  }

  /** Delivers one stored event now, outside the fault plan, and waits for the outcome. */
  async trigger(record: EventRecord): Promise<DeliveryAttempt> {
    if (!this.url) throw new BookijiError('USAGE_ERROR', 'triggerWebhook: no webhook URL is set; call setWebhookUrl first');
    if (this.closed) throw new BookijiError('USAGE_ERROR', 'triggerWebhook: the sandbox is closed');
    const job = this.makeJob(record, 'manual', 0, false, false);
    await this.start(job);
    const last = job.attempts[job.attempts.length - 1];
    if (!last) throw new BookijiError('USAGE_ERROR', 'triggerWebhook: the sandbox closed before the delivery was attempted');
    return { ...last };
  }

  async flush(): Promise<void> {
    for (;;) {
      if (this.closed) return;
      if (this.url) this.dispatchQueued();
      if (this.active.size === 0) {
        if (this.url && this.parked.length > 0) {
          // Nothing left to overtake the parked events: let them go.
          for (const job of this.parked.splice(0)) {
            job.released = true;
            void this.start(job);
          }
          continue;
        }
        return;
      }
      await Promise.allSettled([...this.active]);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const [timer, wake] of this.timers) {
      clearTimeout(timer);
      wake();
    }
    this.timers.clear();
    for (const req of this.requests) req.destroy(new Error('sandbox closed'));
    this.requests.clear();
    await Promise.allSettled([...this.active]);
  }

  // ── internals ───────────────────────────────────────────────────────────

  private makeJob(record: EventRecord, kind: DeliveryKind, delayMs: number, reorder: boolean, duplicate: boolean): Job {
    return { id: newId('whdel'), record, kind, delayMs, reorder, duplicate, released: false, releases: [], attempts: [] };
  }

  private dispatchQueued(): void {
    for (const job of this.queued.splice(0)) this.dispatch(job);
  }

  private dispatch(job: Job): void {
    if (job.reorder && !job.released) {
      this.parked.push(job);
      return;
    }
    void this.start(job);
  }

  private start(job: Job): Promise<void> {
    if (job.kind !== 'manual' && !job.reorder && this.parked.length > 0) {
      job.releases = this.parked.splice(0);
    }
    const run = this.run(job).finally(() => this.active.delete(run));
    this.active.add(run);
    return run;
  }

  private afterFirstAttempt(job: Job): void {
    for (const held of job.releases.splice(0)) {
      held.released = true;
      void this.start(held);
    }
    if (job.duplicate && !this.closed) {
      void this.start(this.makeJob(job.record, 'duplicate', 0, false, false));
    }
  }

  private async run(job: Job): Promise<void> {
    const url = this.url;
    try {
      if (job.delayMs > 0) await this.sleep(job.delayMs);
      for (let attempt = 1; attempt <= this.opts.attemptMax && !this.closed; attempt++) {
        const result = await this.attempt(job, attempt, url ?? this.url ?? '');
        if (this.closed) return;
        const retry = result.outcome !== 'delivered' && attempt < this.opts.attemptMax;
        const wait = Math.min(this.opts.backoffMs * 2 ** (attempt - 1), this.opts.backoffMaxMs);
        if (retry) result.retryInMs = wait;
        this.attempts.push(result);
        job.attempts.push(result);
        if (attempt === 1) this.afterFirstAttempt(job);
        if (result.outcome === 'delivered') {
          this.opts.onDelivered(job.record.event.id);
          return;
        }
        if (retry) await this.sleep(wait);
      }
    } finally {
      // A job that never got to its first attempt still releases what it held.
      if (job.attempts.length === 0) this.afterFirstAttempt(job);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.set(timer, resolve);
    });
  }

  private attempt(job: Job, attempt: number, url: string): Promise<DeliveryAttempt> {
    const event = job.record.event;
    const payload = JSON.stringify(event, null, 2);
    const signatureTimestamp = Math.floor(Date.now() / 1000);
    const startedAt = Date.now();
    const base = {
      deliveryId: job.id,
      eventId: event.id,
      eventType: event.type,
      kind: job.kind,
      attempt,
      url,
      startedAt,
      signatureTimestamp,
    };
    const finish = (rest: Pick<DeliveryAttempt, 'status' | 'outcome'> & Partial<DeliveryAttempt>): DeliveryAttempt => ({
      ...base,
      durationMs: Date.now() - startedAt,
      ...rest,
    });
    return new Promise((resolve) => {
      if (!url) {
        resolve(finish({ status: null, outcome: 'network_error', error: 'no webhook URL set' }));
        return;
      }
      let settled = false;
      let timedOut = false;
      const done = (a: DeliveryAttempt) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.requests.delete(req);
        resolve(a);
      };
      let req: http.ClientRequest;
      try {
        req = http.request(url, {
          method: 'POST',
          agent: false,
          headers: webhookHeaders(payload, this.opts.secret, signatureTimestamp),
        });
      } catch (e) {
        resolve(finish({ status: null, outcome: 'network_error', error: (e as Error).message }));
        return;
      }
      this.requests.add(req);
      const timer = setTimeout(() => {
        timedOut = true;
        req.destroy(new Error(`no answer within ${this.opts.timeoutMs}ms`));
      }, this.opts.timeoutMs);
      req.on('response', (res) => {
        readAnswer(res, (status, responseBody) => {
          const ok = status >= 200 && status < 300;
          done(finish({ status, outcome: ok ? 'delivered' : 'http_error', responseBody }));
        });
        res.on('error', (e) => done(finish({ status: null, outcome: timedOut ? 'timeout' : 'network_error', error: e.message })));
        res.on('close', () =>
          done(finish({ status: null, outcome: timedOut ? 'timeout' : 'network_error', error: 'connection closed before the answer ended' })),
        );
      });
      req.on('error', (e) => done(finish({ status: null, outcome: timedOut ? 'timeout' : 'network_error', error: e.message })));
      req.end(payload);
    });
  }
}

/** The headers Stripe sends with every webhook, the signature over this payload included. */
function webhookHeaders(payload: string, secret: string, signatureTimestamp: number): http.OutgoingHttpHeaders {
  return {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(payload),
    'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
    Accept: '*/*; q=0.5, application/xml',
    'Cache-Control': 'no-cache',
    'Stripe-Signature': signatureHeader(payload, secret, signatureTimestamp),
  };
}

/** The receiver's status and the first 500 characters of its answer, once it has ended. */
function readAnswer(res: http.IncomingMessage, onEnd: (status: number, responseBody: string) => void): void {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    if (body.length < 500) body += chunk;
  });
  res.on('end', () => onEnd(res.statusCode ?? 0, body.slice(0, 500)));
}
