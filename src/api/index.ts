// Partner API v1, for code that embeds it (SimCity drives half of SC-1's
// bookings through it): start the server in-process, make partners' keys.
//
//   const { key } = await createApiKey(pool, { partner: 'simcity' });
//   const api = await startApiServer({ pool, port: 0, outbox: false, rateLimit: { requestsPerWindowMax: 1_000_000, windowSeconds: 1 } });
//   POST `${api.url}/v1/bookings` with "Authorization: Bearer <key>" and
//   {"slotId", "customerId", "idempotencyKey"} → 201 {booking, replayed}.
//   await api.close();

export { startApiServer, type ApiServer, type ApiServerOptions, type LogLine } from './server.js';
export { createApiKey, listApiKeys, revokeApiKey, rotateApiKey, type CreatedApiKey } from './apiKeys.js';
export { RATE_LIMIT_DEFAULTS, type RateLimitSettings } from './rateLimit.js';
export { verifyWebhookSignature } from './webhookOutbox.js';
export { BODY_BYTES_MAX } from './server.js';
