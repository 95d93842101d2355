// Variants of the contended claim path, for measurement only.
//
// Each variant is the shipped claim_slot, read back from the database with
// pg_get_functiondef, with its locking step rewritten; they are installed
// with CREATE OR REPLACE only in a scratch database the benchmark creates
// and drops. Shipped code never sees them. Building from the live definition
// keeps the rest of the function (validation, idempotency, holds, audit)
// identical, so the figures isolate the locking choice. (Since migration
// 0006 the shipped step, lock_slots_for_write, also locks overlapping slots
// whose expired holds the claim frees; variants that replace the step lock
// only the claimed slot, which the benchmark's fixtures never need more of.)
// If the shipped
// function changes so that an anchor is no longer found, the variant is
// reported as not built instead of measuring something else.

export interface ClaimVariant {
  name: string;
  description: string;
  /** Whether it keeps every invariant for every capacity (false: measured to show why it is not shipped). */
  semanticsNote: string;
  build(shipped: string): string;
  /** Run through a pool that keeps connections on SQL errors (see contention.ts). */
  keepConnectionOnSqlError?: boolean;
}

const FAST_FAIL = 'IF v_slot.booked_count >= v_slot.capacity AND NOT EXISTS (';
const RELOAD = 'SELECT * INTO v_slot FROM slots WHERE vendor_id = v_slot.vendor_id AND id = p_slot_id;';
// The shipped locking step, in either of the forms claim_slot has had: the
// slot row locked by the read itself (0004), or lock_slots_for_write, which
// also locks the overlapping slots whose expired holds the claim will free,
// followed by a reload (0006).
const LOCK_STEPS: Array<{ anchor: string; reloads: boolean }> = [
  { anchor: 'SELECT * INTO v_slot FROM slots WHERE vendor_id = v_slot.vendor_id AND id = p_slot_id FOR UPDATE;', reloads: true },
  { anchor: 'PERFORM lock_slots_for_write(v_slot.vendor_id, ARRAY[p_slot_id], v_slot.starts_at, v_slot.ends_at);', reloads: false },
];
// The re-check after the lock (the fast-fail before it reads "… AND NOT
// EXISTS ("); since 0052 the reload before it runs only when an expired hold
// was freed, so the anchor is the check alone.
const RECHECK = 'IF v_slot.booked_count >= v_slot.capacity THEN';
const INCREMENT = 'UPDATE slots SET booked_count = booked_count + 1 WHERE vendor_id = v_slot.vendor_id AND id = p_slot_id;';
const ADVISORY_KEY = 'hashtextextended(p_slot_id::text, 0)';

export class VariantAnchorMissing extends Error {}

function replaceOnce(text: string, anchor: string, replacement: string): string {
  const at = text.indexOf(anchor);
  if (at < 0 || text.indexOf(anchor, at + anchor.length) >= 0) throw new VariantAnchorMissing(`anchor not found exactly once: ${anchor.split('\n')[0]}`);
  return text.slice(0, at) + replacement + text.slice(at + anchor.length);
}

/** Replaces the shipped locking step by `statements`, keeping v_slot loaded after it as the rest of the function expects. */
function replaceLockStep(text: string, statements: string): string {
  const step = LOCK_STEPS.find((candidate) => text.split(candidate.anchor).length === 2);
  if (!step) throw new VariantAnchorMissing('the shipped locking step (SELECT … FOR UPDATE or lock_slots_for_write) was not found exactly once');
  return replaceOnce(text, step.anchor, step.reloads ? `${statements}\n  ${RELOAD}` : statements);
}

const withoutFastFail = (text: string): string => replaceOnce(text, FAST_FAIL, FAST_FAIL.replace('IF ', 'IF false AND '));
const NOWAIT_LOCK = 'PERFORM 1 FROM slots WHERE vendor_id = v_slot.vendor_id AND id = p_slot_id FOR UPDATE NOWAIT;';

export const CLAIM_VARIANTS: ClaimVariant[] = [
  {
    name: 'shipped',
    description: 'snapshot fast-fail (full slot refused before locking) + SELECT … FOR UPDATE',
    semanticsNote: 'keeps every invariant',
    build: (shipped) => shipped,
  },
  {
    name: 'shipped, connection kept',
    description: 'the shipped function, through a pool that keeps the connection when the server refuses a claim',
    semanticsNote: 'keeps every invariant; a client-side change (src/db/pool.ts), not SQL',
    build: (shipped) => shipped,
    keepConnectionOnSqlError: true,
  },
  {
    name: 'for-update',
    description: 'SELECT … FOR UPDATE only (every contender queues on the slot row)',
    semanticsNote: 'keeps every invariant',
    build: (shipped) => withoutFastFail(shipped),
  },
  {
    name: 'nowait',
    description: 'SELECT … FOR UPDATE NOWAIT (a locked slot is an immediate error)',
    semanticsNote: 'refuses waiters even when capacity remains (capacity > 1), and the error is 55P03, not a conflict',
    build: (shipped) => replaceLockStep(withoutFastFail(shipped), NOWAIT_LOCK),
  },
  {
    name: 'fast-fail+nowait',
    description: 'snapshot fast-fail, then FOR UPDATE NOWAIT',
    semanticsNote: 'same capacity > 1 problem as nowait, fewer contenders reach it',
    build: (shipped) => replaceLockStep(shipped, NOWAIT_LOCK),
  },
  {
    name: 'conditional-update',
    description: 'UPDATE slots SET booked_count = booked_count + 1 WHERE booked_count < capacity (claims the seat first)',
    semanticsNote:
      'takes the same row lock (waiters queue, then re-check); refuses a full slot whose only holder is an expired hold (I9), and an idempotent replay after the seat is counted would leave the counter high, unless more paths are added',
    build: (shipped) => {
      let text = withoutFastFail(shipped);
      text = replaceLockStep(
        text,
        `UPDATE slots SET booked_count = booked_count + 1 WHERE vendor_id = v_slot.vendor_id AND id = p_slot_id AND booked_count < capacity;
  IF NOT FOUND THEN
    PERFORM raise_error('BK001', format('slot %s is full', p_slot_id), jsonb_build_object('slot_id', p_slot_id));
  END IF;`,
      );
      // The seat is already counted: the re-check allows it, the final increment goes.
      text = replaceOnce(text, RECHECK, RECHECK.replace('>= v_slot.capacity', '> v_slot.capacity'));
      return replaceOnce(text, INCREMENT, '');
    },
  },
  {
    name: 'advisory-lock',
    description: 'pg_advisory_xact_lock on the slot id, then a plain read (contenders queue on the advisory lock)',
    semanticsNote: 'correct only while every writer of the slot takes the same advisory lock',
    build: (shipped) => replaceLockStep(withoutFastFail(shipped), `PERFORM pg_advisory_xact_lock(${ADVISORY_KEY});`),
  },
  {
    name: 'advisory-try-lock',
    description: 'pg_try_advisory_xact_lock on the slot id; busy means conflict',
    semanticsNote: 'refuses waiters even when capacity remains (capacity > 1); same advisory discipline as advisory-lock',
    build: (shipped) =>
      replaceLockStep(
        withoutFastFail(shipped),
        `IF NOT pg_try_advisory_xact_lock(${ADVISORY_KEY}) THEN
    PERFORM raise_error('BK001', format('slot %s is being claimed by someone else', p_slot_id), jsonb_build_object('slot_id', p_slot_id));
  END IF;`,
      ),
  },
];
