// The seeded fault plan: which API calls fail and what happens to each
// event's webhook delivery, decided from the seed alone.
//
// Determinism: each decision draws from its own generator, seeded with
// `${seed}/api/${n}` for the n-th API request and `${seed}/event/${k}` for the
// k-th event, and always draws the same number of values whatever the rates.
// So the same seed and the same sequence of calls give the same decisions,
// however the webhook deliveries and API calls interleave in time. Every
// decision is appended to the fault log; `digest()` hashes the log without
// object ids (which are random), so two runs can be compared by one string.
//
// API faults (only for requests matching `apiErrorPaths`, when given):
//   api_error    HTTP 500 `api_error`, answered BEFORE the operation runs:
//                nothing happened, nothing is stored for the idempotency key.
//   api_timeout  the operation runs and its answer is stored for the
//                idempotency key, then the response is held back for
//                `apiTimeoutHoldMs` so the client times out not knowing
//                whether it happened; a retry with the same key replays it.
//   capture_expired  (captures only) the authorization has lapsed: the
//                capture answers Stripe's 400 `charge_expired_for_capture`
//                and the intent is canceled. Stripe has no test card for
//                this (https://docs.stripe.com/testing lists none), so it is
//                a fault of the plan, not a card token: by rate, or for
//                named intents (`captureExpiredIntents`).
// Event faults (independent draws, all may apply to one event):
//   drop         never delivered automatically (still in `GET /v1/events`)
//   duplicate    delivered twice (the copy after the original's first attempt)
//   reorder      held back until the next event's first delivery attempt
//   delay        first attempt waits a drawn delay in `delayMs` [min, max]

import { createHash } from 'node:crypto';
import seedrandom from 'seedrandom';
import { validationError } from '../errors.js';

export interface FaultOptions {
  /** Probability an event's webhook is delivered twice. */
  duplicateRate?: number;
  /** Probability an event's webhook is held back behind the next event's. */
  reorderRate?: number;
  /** Range of the extra delay, in ms, before a delayed event's first attempt. */
  delayMs?: [number, number];
  /** Probability an event's first delivery attempt is delayed. */
  delayRate?: number;
  /** Probability an event is never delivered automatically. */
  dropRate?: number;
  /** Probability an API call is answered 500 `api_error` before it runs. */
  apiErrorRate?: number;
  /** Probability an API call runs but its response is held past the client's timeout. */
  apiTimeoutRate?: number;
  /**
   * Restrict API faults (errors and timeouts) to these requests. A string is
   * an optional method and a path, where the path is matched exactly, against
   * the route template (`/v1/payment_intents/:id/capture`) or with `*`
   * standing for one path segment: `'POST /v1/payment_intents/*\/capture'`.
   * A RegExp is tested against `'METHOD /path'`.
   */
  apiErrorPaths?: Array<string | RegExp>;
  /** Probability a capture fails because the authorization expired (not restricted by apiErrorPaths). */
  captureExpiredRate?: number;
  /** PaymentIntent ids whose captures fail that way, whatever the rate. */
  captureExpiredIntents?: string[];
}

export type ApiFault = 'none' | 'api_error' | 'api_timeout' | 'capture_expired';

const CAPTURE_ROUTE = '/v1/payment_intents/:id/capture';

export interface ApiFaultDecision {
  domain: 'api';
  /** Position in the fault log, from 0. */
  seq: number;
  /** Index of the API request, from 0. */
  index: number;
  method: string;
  route: string;
  path: string;
  fault: ApiFault;
}

export interface EventFaultDecision {
  domain: 'webhook';
  seq: number;
  /** Index of the event, from 0. */
  index: number;
  eventId: string;
  eventType: string;
  drop: boolean;
  duplicate: boolean;
  reorder: boolean;
  /** Extra delay before the first attempt; 0 when not delayed. */
  delayMs: number;
}

export type FaultDecision = ApiFaultDecision | EventFaultDecision;

function checkRate(name: string, value: number | undefined): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw validationError(`faults.${name}`, `must be a number in [0, 1], got ${String(value)}`);
  }
}

export function validateFaults(f: FaultOptions): FaultOptions {
  checkRate('duplicateRate', f.duplicateRate);
  checkRate('reorderRate', f.reorderRate);
  checkRate('delayRate', f.delayRate);
  checkRate('dropRate', f.dropRate);
  checkRate('apiErrorRate', f.apiErrorRate);
  checkRate('apiTimeoutRate', f.apiTimeoutRate);
  checkRate('captureExpiredRate', f.captureExpiredRate);
  if (f.captureExpiredIntents !== undefined && !(Array.isArray(f.captureExpiredIntents) && f.captureExpiredIntents.every((id) => typeof id === 'string'))) {
    throw validationError('faults.captureExpiredIntents', 'must be an array of PaymentIntent ids');
  }
  if (f.delayMs !== undefined) {
    const [min, max] = f.delayMs;
    if (!(Number.isFinite(min) && Number.isFinite(max) && min >= 0 && max >= min)) {
      throw validationError('faults.delayMs', `must be [min, max] with 0 <= min <= max, got ${JSON.stringify(f.delayMs)}`);
    }
  }
  return {
    ...f,
    ...(f.apiErrorPaths ? { apiErrorPaths: [...f.apiErrorPaths] } : {}),
    ...(f.captureExpiredIntents ? { captureExpiredIntents: [...f.captureExpiredIntents] } : {}),
  };
}

function pathMatcher(pattern: string | RegExp): (method: string, path: string, route: string) => boolean {
  if (pattern instanceof RegExp) return (method, path) => pattern.test(`${method} ${path}`);
  const m = /^([A-Z]+)\s+(.*)$/.exec(pattern.trim());
  const wantMethod = m ? m[1]! : undefined;
  const wantPath = m ? m[2]! : pattern.trim();
  const re = wantPath.includes('*')
    ? new RegExp(
        `^${wantPath
          .split('*')
          .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
          .join('[^/]+')}$`,
      )
    : undefined;
  return (method, path, route) => (wantMethod === undefined || wantMethod === method) && (re ? re.test(path) : wantPath === path || wantPath === route);
}

export class FaultPlan {
  private faults: FaultOptions;
  private matchers: Array<(method: string, path: string, route: string) => boolean> | undefined;
  private readonly decisions: FaultDecision[] = [];
  private apiIndex = 0;
  private eventIndex = 0;

  constructor(
    readonly seed: string,
    faults: FaultOptions = {},
  ) {
    this.faults = validateFaults(faults);
    this.matchers = this.faults.apiErrorPaths?.map(pathMatcher);
  }

  setFaults(faults: FaultOptions): void {
    this.faults = validateFaults(faults);
    this.matchers = this.faults.apiErrorPaths?.map(pathMatcher);
  }

  current(): FaultOptions {
    return { ...this.faults };
  }

  // Protected so tests can substitute a deliberately non-deterministic generator.
  protected rng(domain: string, index: number): seedrandom.PRNG {
    return seedrandom(`${this.seed}/${domain}/${index}`);
  }

  decideApi(method: string, path: string, route: string): ApiFaultDecision {
    const index = this.apiIndex++;
    const rng = this.rng('api', index);
    const uError = rng();
    const uTimeout = rng();
    const uCapture = rng();
    const eligible = !this.matchers || this.matchers.some((m) => m(method, path, route));
    let fault: ApiFault = 'none';
    if (eligible && uError < (this.faults.apiErrorRate ?? 0)) fault = 'api_error';
    else if (eligible && uTimeout < (this.faults.apiTimeoutRate ?? 0)) fault = 'api_timeout';
    else if (route === CAPTURE_ROUTE && this.captureExpires(path, uCapture)) fault = 'capture_expired';
    const decision: ApiFaultDecision = { domain: 'api', seq: this.decisions.length, index, method, route, path, fault };
    this.decisions.push(decision);
    return decision;
  }

  private captureExpires(path: string, u: number): boolean {
    const intentId = decodeURIComponent(path.split('/')[3] ?? '');
    return (this.faults.captureExpiredIntents ?? []).includes(intentId) || u < (this.faults.captureExpiredRate ?? 0);
  }

  decideEvent(eventId: string, eventType: string): EventFaultDecision {
    const index = this.eventIndex++;
    const rng = this.rng('event', index);
    const uDrop = rng();
    const uDuplicate = rng();
    const uReorder = rng();
    const uDelay = rng();
    const uDelayValue = rng();
    const f = this.faults;
    const [min, max] = f.delayMs ?? [0, 0];
    const delayed = uDelay < (f.delayRate ?? 0);
    const decision: EventFaultDecision = {
      domain: 'webhook',
      seq: this.decisions.length,
      index,
      eventId,
      eventType,
      drop: uDrop < (f.dropRate ?? 0),
      duplicate: uDuplicate < (f.duplicateRate ?? 0),
      reorder: uReorder < (f.reorderRate ?? 0),
      delayMs: delayed ? min + Math.floor(uDelayValue * (max - min + 1)) : 0,
    };
    this.decisions.push(decision);
    return decision;
  }

  log(): FaultDecision[] {
    return this.decisions.map((d) => ({ ...d }));
  }

  /** SHA-256 of the decisions without ids or concrete paths (random per run). */
  digest(): string {
    const h = createHash('sha256');
    for (const d of this.decisions) {
      const line =
        d.domain === 'api'
          ? `api ${d.index} ${d.method} ${d.route} ${d.fault}`
          : `webhook ${d.index} ${d.eventType} drop=${d.drop} dup=${d.duplicate} reorder=${d.reorder} delay=${d.delayMs}`;
      h.update(line).update('\n');
    }
    return h.digest('hex');
  }
}
