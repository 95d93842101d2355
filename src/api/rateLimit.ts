// Rate limiting per API key, counted in PostgreSQL (rate_limit_take) so that
// every `serve` process shares one budget per key.
//
// Fail closed: if the counter cannot be read or written, for any reason, the
// request is refused with DEPENDENCY_UNAVAILABLE (503). A limiter that let
// requests through when its store is down would be no limiter during exactly
// the incidents it exists for.

import { BookijiError } from '../errors.js';
import type { Pool } from '../db/pool.js';

export interface RateLimitSettings {
  /** Requests allowed per key per window. */
  requestsPerWindowMax: number;
  windowSeconds: number;
}

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  retryAfterSeconds: number;
}

export interface RateLimiter {
  /** Counts one request of `keyId`; throws DEPENDENCY_UNAVAILABLE when the store cannot answer. */
  take(keyId: string): Promise<RateDecision>;
}

export const RATE_LIMIT_DEFAULTS: RateLimitSettings = { requestsPerWindowMax: 600, windowSeconds: 60 };

export function postgresRateLimiter(pool: Pool, settings: RateLimitSettings = RATE_LIMIT_DEFAULTS): RateLimiter {
  return {
    async take(keyId) {
      let row: { allowed: boolean; hits: number; retry_after_seconds: number } | undefined;
      try {
        const result = await pool.query('SELECT allowed, hits, retry_after_seconds FROM rate_limit_take($1, $2, $3)', [
          keyId,
          settings.requestsPerWindowMax,
          settings.windowSeconds,
        ]);
        row = result.rows[0];
      } catch (error) {
        throw new BookijiError('DEPENDENCY_UNAVAILABLE', "the rate limiter's store is unreachable, so the request is refused", { cause: error });
      }
      if (!row) throw new BookijiError('DEPENDENCY_UNAVAILABLE', 'the rate limiter gave no answer, so the request is refused');
      return {
        allowed: row.allowed,
        limit: settings.requestsPerWindowMax,
        remaining: Math.max(0, settings.requestsPerWindowMax - row.hits),
        retryAfterSeconds: row.retry_after_seconds,
      };
    },
  };
}

/** Old windows are dead weight; the outbox loop calls this now and then. */
export async function pruneRateWindows(pool: Pool, windowSeconds: number): Promise<number> {
  const result = await pool.query(`DELETE FROM api_rate_windows WHERE window_start < clock_timestamp() - make_interval(secs => $1 * 2)`, [windowSeconds]);
  return result.rowCount ?? 0;
}
