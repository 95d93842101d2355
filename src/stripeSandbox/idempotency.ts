// Stripe's idempotent requests (https://docs.stripe.com/api/idempotent_requests).
//
// A POST carrying `Idempotency-Key` is executed once; the status and body of
// that first execution are stored, and a later request with the same key and
// the same method, path and parameters gets exactly that stored answer back,
// with `Idempotent-Replayed: true` and `Original-Request: <first request id>`.
// The same key with anything different is refused with HTTP 400
// `idempotency_error`. Keys are scoped per API key and kept for 24 hours.
//
// What is stored follows Stripe: every answer of an endpoint that began
// executing (successes, card declines, state errors), but not a request that
// failed parameter validation, nor an injected 500 (the fault plan fails those
// before anything runs), so a retry of those executes afresh. GET requests
// ignore the header, as in Stripe.
//
// The sandbox is single-threaded and executes each request synchronously once
// its body is read, so two requests with one key can never run concurrently.

import { canonicalJson, type FormObject } from './params.js';

export interface StoredResponse {
  status: number;
  body: string;
  requestId: string;
}

interface Entry {
  fingerprint: string;
  response: StoredResponse;
  storedAt: number;
}

export type IdempotencyLookup = { kind: 'miss' } | { kind: 'replay'; response: StoredResponse } | { kind: 'mismatch' };

export class IdempotencyStore {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly clock: () => number,
    private readonly ttlMs = 24 * 60 * 60 * 1000,
  ) {}

  static fingerprint(method: string, path: string, params: FormObject): string {
    return `${method} ${path} ${canonicalJson(params)}`;
  }

  private scoped(apiKey: string, key: string): string {
    return `${apiKey}\u0000${key}`;
  }

  lookup(apiKey: string, key: string, fingerprint: string): IdempotencyLookup {
    const id = this.scoped(apiKey, key);
    const entry = this.entries.get(id);
    if (!entry) return { kind: 'miss' };
    if (this.clock() - entry.storedAt > this.ttlMs) {
      this.entries.delete(id);
      return { kind: 'miss' };
    }
    if (entry.fingerprint !== fingerprint) return { kind: 'mismatch' };
    return { kind: 'replay', response: entry.response };
  }

  store(apiKey: string, key: string, fingerprint: string, response: StoredResponse): void {
    this.entries.set(this.scoped(apiKey, key), { fingerprint, response, storedAt: this.clock() });
  }

  size(): number {
    return this.entries.size;
  }
}
