// Webhook signatures exactly as Stripe makes them
// (https://docs.stripe.com/webhooks#verify-manually):
//
//   Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<payload>">
//
// keyed with the endpoint's whole signing secret string (`whsec_…`). The SDK's
// `stripe.webhooks.constructEvent(payload, header, secret)` accepts these.
// `verifyStripeSignature` is the same check without the SDK, for receivers
// written against plain node:http.

import { createHmac, timingSafeEqual } from 'node:crypto';

export function computeSignature(payload: string, secret: string, timestamp: number): string {
  return createHmac('sha256', secret).update(`${timestamp}.${payload}`, 'utf8').digest('hex');
}

export function signatureHeader(payload: string, secret: string, timestamp = Math.floor(Date.now() / 1000)): string {
  return `t=${timestamp},v1=${computeSignature(payload, secret, timestamp)}`;
}

export function verifyStripeSignature(
  payload: string,
  header: string | undefined,
  secret: string,
  toleranceSeconds = 300,
  nowSeconds = Math.floor(Date.now() / 1000),
): boolean {
  if (!header) return false;
  let timestamp = -1;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (k === 't') timestamp = Number(v);
    else if (k === 'v1') signatures.push(v);
  }
  if (!Number.isInteger(timestamp) || timestamp < 0 || signatures.length === 0) return false;
  const expected = Buffer.from(computeSignature(payload, secret, timestamp), 'utf8');
  const ok = signatures.some((s) => {
    const got = Buffer.from(s, 'utf8');
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
  if (!ok) return false;
  return toleranceSeconds <= 0 || nowSeconds - timestamp <= toleranceSeconds;
}
