import os from 'node:os';
import type { Actor } from './types.js';

/** The actor as the trailing arguments every engine SQL function takes: kind, id, source, request id. */
export function actorArgs(actor: Actor): [string, string | null, string, string | null] {
  return [actor.kind, actor.id ?? null, actor.source, actor.requestId ?? null];
}

/**
 * The OS account running the command (the audit log and forensics show the
 * actor as `operator:<user>`): from the system's user database, not $USER,
 * which sudo, cron and containers leave unset or wrong.
 */
export function osUserName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return typeof process.getuid === 'function' ? `uid-${process.getuid()}` : 'unknown';
  }
}

export const CLI_OPERATOR: Actor = { kind: 'operator', id: osUserName(), source: 'cli' };
