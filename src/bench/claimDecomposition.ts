// `claimPathMain --decompose`: where a claim's database cost goes, measured
// by taking parts away. Each variant removes guarantees the shipped engine
// must keep, so none is an alternative to ship: together they bound what
// any faster design of that part could win, and the last ("bare") bounds
// what the booking INSERT, the counter UPDATE, their constraints and
// foreign keys, and claim_slot's own reads cost with all four removed.
// Each variant first restores the shipped definitions (every trigger on,
// audit_append as the migrations left it), so the order does not matter.

const TRIGGERS = [
  ['bookings', 'bookings_zz_audit_insert'],
  ['bookings', 'bookings_log_transition'],
  ['bookings', 'bookings_state_machine'],
  ['slots', 'slots_audit_update'],
] as const;

type Trigger = (typeof TRIGGERS)[number][1];

const disable = (...names: Trigger[]): string =>
  names.map((name) => `ALTER TABLE ${TRIGGERS.find(([, trigger]) => trigger === name)![0]} DISABLE TRIGGER ${name};`).join('\n');

/** audit_append writing the same row with no chain: no head lock, no digest, no head update (and so no head guard). */
const UNCHAINED_AUDIT_APPEND = `
CREATE SEQUENCE IF NOT EXISTS decomposition_audit_seq START 1000000000;
CREATE OR REPLACE FUNCTION public.audit_append(p_vendor_id uuid, p_entity text, p_entity_id uuid, p_action text, p_before jsonb, p_after jsonb)
 RETURNS void LANGUAGE plpgsql SET search_path TO 'public', 'pg_temp'
AS $function$
BEGIN
  INSERT INTO audit_log (vendor_id, seq, entity, entity_id, action, before, after, actor_kind, actor_id, source, reason, request_id, at, prev_hash, hash)
  VALUES (p_vendor_id, nextval('decomposition_audit_seq'), p_entity, p_entity_id, p_action, p_before, p_after,
          coalesce(nullif(current_setting('bookiji.actor_kind', true), ''), 'system'), nullif(current_setting('bookiji.actor_id', true), ''),
          coalesce(nullif(current_setting('bookiji.source', true), ''), 'system'), nullif(current_setting('bookiji.reason', true), ''),
          nullif(current_setting('bookiji.request_id', true), ''), bookiji_now(), '', '');
END $function$;`;

/** The variants, given audit_append's shipped definition (pg_get_functiondef) to restore before each. */
export function decompositionVariants(shippedAuditAppend: string): Array<{ name: string; sql: string }> {
  const restore = `${shippedAuditAppend};\n${TRIGGERS.map(([table, name]) => `ALTER TABLE ${table} ENABLE TRIGGER ${name};`).join('\n')}`;
  const variant = (name: string, change: string) => ({ name, sql: `${restore}\n${change}` });
  return [
    variant('shipped', ''),
    variant('without-chain', UNCHAINED_AUDIT_APPEND),
    variant('without-audit-row', disable('bookings_zz_audit_insert')),
    variant('without-transition-row', disable('bookings_log_transition')),
    variant('without-audit-and-transition', disable('bookings_zz_audit_insert', 'bookings_log_transition')),
    variant('without-counter-trigger', disable('slots_audit_update')),
    variant('without-state-machine', disable('bookings_state_machine')),
    variant('bare', disable('bookings_zz_audit_insert', 'bookings_log_transition', 'slots_audit_update', 'bookings_state_machine')),
  ];
}
