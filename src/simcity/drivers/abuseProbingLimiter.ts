// SC-5's limiter-store-down opening: the rate limiter counts in PostgreSQL
// (api_rate_windows through rate_limit_take) and must fail closed. The
// observer locks the counter table ACCESS EXCLUSIVE in an open transaction,
// sends one partner request, and once the API's counting statement waits on
// that lock, terminates the API's backend: the limiter's store is gone
// mid-request. The answer must be 503 DEPENDENCY_UNAVAILABLE, not the
// request served (a limiter that lets requests through then is no limiter).

import { BookijiError } from '../../errors.js';
import type { Pool, PoolClient } from '../../db/pool.js';
import type { HistoryEvent } from '../types.js';
import type { Finding } from './driver.js';
import { errorCodeOf } from './abuseProbingWebhook.js';

const WAITER_POLLS_MAX = 200;
const WAITER_POLL_MS = 25;

/**
 * The API backend whose rate_limit_take waits on the lock, found and ended by
 * the lock holder itself (the session has one connection); polled, since the
 * request is in flight, with the activity snapshot cleared each time (a
 * transaction otherwise keeps its first one).
 */
async function terminateWaitingCounter(locker: PoolClient): Promise<number> {
  for (let poll = 0; poll < WAITER_POLLS_MAX; poll++) {
    await locker.query('SELECT pg_stat_clear_snapshot()');
    const found = await locker.query(
      `SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
       WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%rate_limit_take%' AND pid <> pg_backend_pid()`,
    );
    if (found.rowCount) return found.rowCount;
    await new Promise((resolve) => setTimeout(resolve, WAITER_POLL_MS));
  }
  throw new BookijiError('DEPENDENCY_UNAVAILABLE', 'the API never waited on the locked rate-limit counters');
}

export async function limiterStoreDown(pool: Pool, url: string, apiKey: string): Promise<Record<string, unknown>> {
  const locker = await pool.connect();
  try {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE api_rate_windows IN ACCESS EXCLUSIVE MODE');
    const answer = fetch(`${url}/v1/bookings/00000000-0000-4000-8000-000000000000`, { headers: { authorization: `Bearer ${apiKey}` } });
    const terminated = await terminateWaitingCounter(locker);
    await locker.query('ROLLBACK');
    const response = await answer;
    return { status: response.status, code: errorCodeOf(await response.text()), terminated };
  } finally {
    await locker.query('ROLLBACK').catch(() => undefined);
    locker.release();
  }
}

export function limiterStoreDownChecks(event: HistoryEvent): Finding[] {
  if (event.type !== 'ok' || event.action !== 'limiter_store_down') return [];
  const { status, code } = event.value as { status: number; code: string | null };
  if (status === 503 && code === 'DEPENDENCY_UNAVAILABLE') return [];
  return [
    {
      oracle: 'limiter-fails-closed',
      message: `a request whose rate-limit counter store was cut off mid-count answered ${status} ${code ?? 'without a code'} (needs 503 DEPENDENCY_UNAVAILABLE: refused, not served)`,
      evidence: event.value,
    },
  ];
}
