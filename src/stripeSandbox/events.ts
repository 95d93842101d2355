// `GET /v1/events` and `GET /v1/events/:id`: Stripe's event log, the way a
// reconciler recovers events whose webhook never arrived (a dropped delivery,
// an endpoint that was down). Every event the sandbox creates is listed here,
// whatever the fault plan did to its delivery.
//
// Filters as in Stripe: `type` (with `*` wildcards, e.g. `payment_intent.*`),
// `types[]`, `created`, and `delivery_success` (false ⇒ events the webhook
// endpoint has not acknowledged yet, i.e. `pending_webhooks > 0`).

import type Stripe from 'stripe';
import { checkExpand } from './expand.js';
import { errors } from './stripeErrors.js';
import { paginate } from './list.js';
import { inRange, type Params } from './params.js';
import { newestFirst, type Store } from './store.js';

function typeMatcher(pattern: string): (type: string) => boolean {
  if (!pattern.includes('*')) return (type) => type === pattern;
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return (type) => re.test(type);
}

export function retrieveEvent(store: Store, id: string, params: Params): Stripe.Event {
  params.allow([]);
  checkExpand('event', params.expand());
  const rec = store.eventsById.get(id);
  if (!rec) throw errors.resourceMissing('event', id);
  return structuredClone(rec.event);
}

export function listEvents(store: Store, params: Params): Stripe.ApiList<Stripe.Event> {
  params.allow(['limit', 'starting_after', 'ending_before', 'created', 'type', 'types', 'delivery_success']);
  checkExpand('event', params.expand(), true);
  const created = params.range('created');
  const type = params.string('type');
  const types = params.stringArray('types');
  if (type !== undefined && types !== undefined) {
    throw errors.parameterInvalid('types', 'You may only specify one of these parameters: type, types.');
  }
  // "An array of up to 20 strings" (https://docs.stripe.com/api/events/list#list_events-types).
  if (types !== undefined && types.length > 20) throw errors.parameterInvalid('types', 'You may specify up to 20 event types.');
  const deliverySuccess = params.boolean('delivery_success');
  const matchType = type !== undefined ? typeMatcher(type) : types !== undefined ? (t: string) => types.includes(t) : () => true;
  const all = newestFirst(store.events).map((rec) => ({ seq: rec.seq, id: rec.event.id, item: rec.event }));
  const matching = all.filter(
    (x) => matchType(x.item.type) && inRange(x.item.created, created) && (deliverySuccess === undefined || (x.item.pending_webhooks === 0) === deliverySuccess),
  );
  const page = paginate(params, '/v1/events', 'event', all, matching);
  return { ...page, data: page.data.map((e) => structuredClone(e)) };
}
