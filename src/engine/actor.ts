import type { Actor } from './types.js';

/** The actor as the trailing arguments every engine SQL function takes: kind, id, source, request id. */
export function actorArgs(actor: Actor): [string, string | null, string, string | null] {
  return [actor.kind, actor.id ?? null, actor.source, actor.requestId ?? null];
}

export const CLI_OPERATOR: Actor = { kind: 'operator', id: process.env.USER ?? null, source: 'cli' };
