// `expand[]`: which fields Stripe can expand on each object we serve
// (openapi/spec3.json, each schema's `x-expandableFields`). Anything else is
// Stripe's 400 "This property cannot be expanded", so a typo in our own
// expand list fails here instead of in production. The sandbox renders the
// expansions it models (see EXPANDED below); fields Stripe could expand that
// the sandbox does not model (customer, review, …) come back unexpanded.

import { errors } from './stripeErrors.js';

export type ExpandableKind = 'payment_intent' | 'charge' | 'refund' | 'payment_method' | 'event';

const EXPANDABLE: Record<ExpandableKind, Record<string, ExpandableKind | null>> = {
  payment_intent: {
    application: null,
    customer: null,
    latest_charge: 'charge',
    on_behalf_of: null,
    payment_method: 'payment_method',
    review: null,
    source: null,
  },
  charge: {
    application: null,
    application_fee: null,
    balance_transaction: null,
    customer: null,
    failure_balance_transaction: null,
    on_behalf_of: null,
    payment_intent: 'payment_intent',
    review: null,
    source_transfer: null,
    transfer: null,
  },
  refund: {
    balance_transaction: null,
    charge: 'charge',
    failure_balance_transaction: null,
    payment_intent: 'payment_intent',
    source_transfer_reversal: null,
    transfer_reversal: null,
  },
  payment_method: { customer: null },
  event: {},
};

function check(kind: ExpandableKind, path: string[], full: string): void {
  const [head, ...rest] = path;
  const fields = EXPANDABLE[kind];
  if (head === undefined || !Object.hasOwn(fields, head)) throw errors.cannotExpand(full);
  const next = fields[head];
  if (rest.length > 0 && next) check(next, rest, full);
  else if (rest.length > 0) throw errors.cannotExpand(full);
}

/** Validates `expand` for an object of `kind` (or a list of them: `data.` prefixes) and returns it. */
export function checkExpand(kind: ExpandableKind, expand: string[], list = false): string[] {
  for (const field of expand) {
    const path = field.split('.');
    if (list) {
      if (path[0] !== 'data') throw errors.cannotExpand(field);
      path.shift();
    }
    check(kind, path, field);
  }
  return list ? expand.map((e) => e.slice('data.'.length)) : expand;
}
