// Stripe-looking object ids: a prefix, an underscore and 24 base-62
// characters (`pi_3PqR…`). Ids come from node:crypto, not from the fault
// plan's seed, so two sandboxes never hand out the same id; the fault log and
// its digest leave ids out so that seeded replays still compare equal.

import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function randomToken(length: number): string {
  const bytes = randomBytes(length * 2);
  let out = '';
  for (let i = 0; out.length < length && i < bytes.length; i++) {
    const b = bytes[i]!;
    // 248 = 4 * 62: reject the tail of the byte range to stay uniform.
    if (b < 248) out += ALPHABET[b % 62];
  }
  return out.length === length ? out : out + randomToken(length - out.length);
}

export function newId(prefix: string): string {
  return `${prefix}_${randomToken(24)}`;
}
