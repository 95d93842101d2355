// The sandbox's in-memory account: payment intents, charges, refunds, minted
// payment methods and events, each kept with a creation sequence number so
// lists come back newest first, as Stripe's do, even within one second.
//
// Objects are stored in their public Stripe shape (typed with the `stripe`
// package's own interfaces, so the compiler checks every field) and cloned on
// the way out; nothing outside this module holds a live reference.

import type Stripe from 'stripe';
import { newId } from './ids.js';
import type { MintedPaymentMethod } from './paymentMethods.js';
import type { TestPaymentMethod } from './testPaymentMethods.js';

/** Who caused a change: the API request (for `event.request`) or nobody (automatic). */
export interface OpContext {
  requestId: string | null;
  idempotencyKey: string | null;
  /** The request's API version (its Stripe-Version, else the account's); events use the account's. */
  apiVersion: string;
}

export interface IntentRecord {
  seq: number;
  pi: Stripe.PaymentIntent;
  /** Behaviour of the attached payment method, when one is attached. */
  method?: TestPaymentMethod;
  returnUrl?: string;
  /** The confirmation at hand is off-session (`off_session=true`) or must not need an action. */
  noActionPossible?: boolean;
}

export interface ChargeRecord {
  seq: number;
  charge: Stripe.Charge;
}

export interface RefundRecord {
  seq: number;
  refund: Stripe.Refund;
}

export interface EventRecord {
  seq: number;
  /** Index among events, from 0: the fault plan's per-event decision index. */
  index: number;
  event: Stripe.Event;
}

export type PaymentIntentEventType =
  | 'payment_intent.created'
  | 'payment_intent.amount_capturable_updated'
  | 'payment_intent.succeeded'
  | 'payment_intent.payment_failed'
  | 'payment_intent.canceled'
  | 'payment_intent.requires_action';

export type ChargeEventType = 'charge.succeeded' | 'charge.failed' | 'charge.captured' | 'charge.updated' | 'charge.refunded';

export type SandboxEventType = PaymentIntentEventType | ChargeEventType | 'refund.created' | 'refund.updated';

type EventObjectFor<T extends SandboxEventType> = Extract<Stripe.Event, { type: T }>['data']['object'];

export class Store {
  private seqCounter = 0;
  readonly intents = new Map<string, IntentRecord>();
  readonly charges = new Map<string, ChargeRecord>();
  readonly refunds = new Map<string, RefundRecord>();
  readonly events: EventRecord[] = [];
  readonly eventsById = new Map<string, EventRecord>();
  /** Minted payment method id → its object and the test method it was minted from. */
  readonly paymentMethods = new Map<string, MintedPaymentMethod>();

  constructor(
    private readonly clock: () => number,
    private readonly onEvent: (record: EventRecord) => void,
    /** The account's default API version: every event is rendered in it, whoever caused it. */
    readonly accountApiVersion: string,
  ) {}

  nextSeq(): number {
    return ++this.seqCounter;
  }

  /** Seconds since the epoch, as Stripe's `created` fields. */
  now(): number {
    return Math.floor(this.clock() / 1000);
  }

  /** Creates an event holding a snapshot of `object`, stores it and hands it to delivery. */
  emit<T extends SandboxEventType>(type: T, object: EventObjectFor<T>, ctx: OpContext): Stripe.Event {
    const base: Omit<Stripe.EventBase, 'type' | 'data'> = {
      id: newId('evt'),
      object: 'event',
      api_version: this.accountApiVersion,
      created: this.now(),
      livemode: false,
      // The sandbox models one webhook endpoint; this drops to 0 once it
      // acknowledges the event with a 2xx (see webhookDelivery.ts).
      pending_webhooks: 1,
      request: { id: ctx.requestId, idempotency_key: ctx.idempotencyKey },
    };
    const event = { ...base, type, data: { object: structuredClone(object) } } as Stripe.Event;
    const record: EventRecord = { seq: this.nextSeq(), index: this.events.length, event };
    this.events.push(record);
    this.eventsById.set(event.id, record);
    this.onEvent(record);
    return event;
  }

  markDelivered(eventId: string): void {
    const record = this.eventsById.get(eventId);
    if (record) record.event.pending_webhooks = 0;
  }
}

/** Newest first, as Stripe lists objects. */
export function newestFirst<R extends { seq: number }>(records: Iterable<R>): R[] {
  return [...records].sort((a, b) => b.seq - a.seq);
}
