// The forensic snapshot a violation stops the run with: the vendor's slots,
// every booking, every transition, the audit rows, payments if the schema has
// them, and the last actions of the history, plus a readable rendering.

import type { Queryable } from '../db/pool.js';
import type { ForensicSnapshot, HistoryEvent, Violation } from './types.js';

export async function takeSnapshot(
  db: Queryable,
  input: { scenarioId: string; iteration: number; vendorId: string; lastActions: HistoryEvent[]; names: Record<string, string> },
): Promise<ForensicSnapshot> {
  const rows = async (sql: string): Promise<Array<Record<string, unknown>>> => (await db.query(sql, [input.vendorId])).rows as Array<Record<string, unknown>>;
  const slots = await rows('SELECT id, starts_at, ends_at, capacity, booked_count, price_cents, legacy FROM slots WHERE vendor_id = $1 ORDER BY starts_at, id');
  const bookings = await rows(
    'SELECT id, slot_id, customer_id, state, idempotency_key, payment_method, payment_status, version, cancel_reason, created_at, updated_at FROM bookings WHERE vendor_id = $1 ORDER BY created_at, id',
  );
  const transitions = await rows(
    'SELECT booking_id, from_state, to_state, from_slot_id, to_slot_id, cause, actor_kind, source, at FROM booking_transitions WHERE vendor_id = $1 ORDER BY id',
  );
  const auditRows = await rows('SELECT seq, entity, entity_id, action, actor_kind, source, reason, at FROM audit_log WHERE vendor_id = $1 ORDER BY seq');
  // Payments belong to the payments work; read them when that schema is present.
  const hasPayments = (
    await db.query(`SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'payments' AND column_name = 'vendor_id'`)
  ).rowCount;
  const payments = hasPayments ? await rows('SELECT * FROM payments WHERE vendor_id = $1') : [];
  return {
    scenarioId: input.scenarioId,
    iteration: input.iteration,
    vendorId: input.vendorId,
    slots,
    bookings,
    transitions,
    auditRows,
    payments,
    lastActions: input.lastActions,
    names: input.names,
  };
}

export function formatViolation(violation: Violation): string {
  const where = violation.step < 0 ? 'at the terminal check' : `after step ${violation.step}`;
  return `[${violation.oracle}] iteration ${violation.iteration} ${where}: ${violation.message}`;
}

function cell(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (value === null || value === undefined) return '-';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** Replaces database ids by the scenario's names (C1, S, intent_A) so a snapshot reads like the scenario. */
function namer(names: Record<string, string>): (value: unknown) => string {
  const byId = new Map(Object.entries(names).map(([name, id]) => [id, name]));
  return (value) => {
    const text = cell(value);
    const name = byId.get(text);
    return name ? `${name} (${text.slice(0, 8)})` : text;
  };
}

export function formatSnapshot(snapshot: ForensicSnapshot): string {
  const name = namer(snapshot.names);
  const lines: string[] = [];
  lines.push(`FORENSIC SNAPSHOT — ${snapshot.scenarioId}, iteration ${snapshot.iteration}, vendor ${snapshot.vendorId}`);
  lines.push(
    `names: ${Object.entries(snapshot.names)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
  lines.push('slots:');
  for (const slot of snapshot.slots)
    lines.push(`  ${name(slot.id)}  ${cell(slot.starts_at)}  capacity ${cell(slot.capacity)}  booked_count ${cell(slot.booked_count)}`);
  lines.push(`bookings (${snapshot.bookings.length}):`);
  for (const b of snapshot.bookings)
    lines.push(
      `  ${name(b.id)}  slot ${name(b.slot_id)}  customer ${name(b.customer_id)}  ${cell(b.state)}  key ${cell(b.idempotency_key)}  v${cell(b.version)}`,
    );
  lines.push(`transitions (${snapshot.transitions.length}):`);
  for (const t of snapshot.transitions)
    lines.push(
      `  ${name(t.booking_id)}  ${cell(t.from_state)} → ${cell(t.to_state)}  slot ${name(t.from_slot_id)} → ${name(t.to_slot_id)}  (${cell(t.cause)}, ${cell(t.source)})`,
    );
  lines.push(`audit rows (${snapshot.auditRows.length}):`);
  for (const a of snapshot.auditRows) lines.push(`  #${cell(a.seq)}  ${cell(a.entity)} ${name(a.entity_id)} ${cell(a.action)}  ${cell(a.reason)}`);
  lines.push(`payments (${snapshot.payments.length})${snapshot.payments.length === 0 ? '' : ':'}`);
  for (const p of snapshot.payments) lines.push(`  ${cell(p)}`);
  lines.push(`last ${snapshot.lastActions.length} history events:`);
  for (const e of snapshot.lastActions) {
    const outcome = e.type === 'invoke' ? '' : e.error ? ` ${e.error}` : e.value ? ` ${cell(e.value)}` : '';
    lines.push(
      `  ${String(e.index).padStart(5)}  it${e.iteration}.${e.step}  ${e.process.padEnd(7)} ${e.type.padEnd(7)} ${e.action} ${cell(e.args)}${outcome}`,
    );
  }
  return lines.join('\n');
}
