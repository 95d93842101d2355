import os from 'node:os';
import type { Actor } from './types.js';

/** The actor as the trailing arguments every engine SQL function takes: kind, id, source, request id. */
export function actorArgs(actor: Actor): [string, string | null, string, string | null] {
  return [actor.kind, actor.id ?? null, actor.source, actor.requestId ?? null];
}

/**
 * The OS account running the command, as `operator:<user>`: from the system's
 * user database, not $USER (which sudo, cron and containers leave unset or
 * wrong), so the audit log names who acted.
 */
export function osOperatorId(): string {
  let user: string;
  try {
    user = os.userInfo().username;
  } catch {
    user = typeof process.getuid === 'function' ? `uid-${process.getuid()}` : 'unknown';
  }
  return `operator:${user}`;
}

export const CLI_OPERATOR: Actor = { kind: 'operator', id: osOperatorId(), source: 'cli' };
