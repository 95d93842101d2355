// The engine's hold limits, for the TypeScript checks that run before the
// database's: the CLI, the engine's claimSlot and the partner API's schema
// refuse a bad TTL with the caller's own field name and no round trip.
// The database is the truth: claim_slot enforces the engine_limits rows
// (migrations/0004); test/engine/holdTtlLimits.test.ts fails if a value here disagrees.

import { requireInt } from './validate.js';

/** The shortest hold a caller may ask for (engine_limits.hold_ttl_seconds_min). */
export const HOLD_TTL_SECONDS_MIN = 30;
/** The longest hold a caller may ask for, one day (engine_limits.hold_ttl_seconds_max). */
export const HOLD_TTL_SECONDS_MAX = 86_400;
/** A hold's TTL when the caller gives none (engine_limits.hold_ttl_seconds_default). */
export const HOLD_TTL_SECONDS_DEFAULT = 600;

/** A hold TTL in whole seconds within the engine's limits, or VALIDATION_ERROR naming `field`. */
export function requireHoldTtlSeconds(field: string, value: unknown): number {
  return requireInt(field, value, HOLD_TTL_SECONDS_MIN, HOLD_TTL_SECONDS_MAX);
}
