// Stripe's cursor pagination: `{ object: 'list', data, has_more, url }`, newest
// first, `limit` 1–100 (default 10), `starting_after` (older than the cursor)
// and `ending_before` (newer than the cursor). The SDK's auto-pagination
// (`for await … of stripe.events.list()`) walks it with `starting_after`.

import type Stripe from 'stripe';
import { errors } from './stripeErrors.js';
import type { Params } from './params.js';

export interface Listable<T> {
  seq: number;
  id: string;
  item: T;
}

/**
 * `all` is every object of the kind (for cursor lookup), `matching` the ones
 * that pass the request's filters; both newest first.
 */
export function paginate<T>(params: Params, url: string, kind: string, all: Listable<T>[], matching: Listable<T>[]): Stripe.ApiList<T> {
  const limit = params.integer('limit') ?? 10;
  if (limit < 1 || limit > 100) {
    throw errors.parameterInvalid('limit', `Invalid limit: must be between 1 and 100`);
  }
  const startingAfter = params.string('starting_after');
  const endingBefore = params.string('ending_before');
  if (startingAfter !== undefined && endingBefore !== undefined) {
    throw errors.parameterInvalid('ending_before', 'You may only specify one of these parameters: ending_before, starting_after.');
  }
  const cursorSeq = (id: string, param: string): number => {
    const hit = all.find((x) => x.id === id);
    if (!hit) throw errors.resourceMissing(kind, id, param);
    return hit.seq;
  };

  let page: Listable<T>[];
  let hasMore: boolean;
  if (startingAfter !== undefined) {
    const seq = cursorSeq(startingAfter, 'starting_after');
    const older = matching.filter((x) => x.seq < seq);
    page = older.slice(0, limit);
    hasMore = older.length > limit;
  } else if (endingBefore !== undefined) {
    const seq = cursorSeq(endingBefore, 'ending_before');
    const newer = matching.filter((x) => x.seq > seq);
    page = newer.slice(Math.max(0, newer.length - limit));
    hasMore = newer.length > limit;
  } else {
    page = matching.slice(0, limit);
    hasMore = matching.length > limit;
  }
  return { object: 'list', data: page.map((x) => x.item), has_more: hasMore, url };
}
