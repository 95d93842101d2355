// Payment-side records of a booking, found by the schema rather than named
// in advance: the payments module (payments, ledger, provider events,
// applications, reconcile actions) is optional and may add tables, so
// forensics asks the catalogue which tables point at the booking (a
// `booking_id` or `…_booking_id` column), at one of its payments (a
// `payment_id` column), or at one of its provider intents (a column whose
// name contains `intent`, an event's `object_id`, or an event table's JSON
// payload). Nothing here writes.

import pg from '../db/pg.js';
import type { Queryable } from '../db/pool.js';

export interface RelatedRow {
  table: string;
  row: Record<string, unknown>;
}

interface ColumnInfo {
  table: string;
  column: string;
  type: string;
}

// Our own tables are read by the reconstruction itself.
const CORE_TABLES = new Set(['bookings', 'booking_transitions', 'audit_log', 'audit_chain_heads', 'slots', 'vendors', 'customers']);

/** Rows of one table kept per booking: enough for any real history, bounded for a hostile one. */
export const RELATED_ROWS_PER_TABLE_MAX = 500;

async function columns(db: Queryable): Promise<ColumnInfo[]> {
  const result = await db.query(
    `SELECT c.table_name AS table, c.column_name AS column, c.data_type AS type
     FROM information_schema.columns c
     JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
     WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'`,
  );
  return result.rows as ColumnInfo[];
}

function isIntentColumn(column: string): boolean {
  return column.includes('intent');
}

function isBookingColumn(column: string): boolean {
  return column === 'booking_id' || column.endsWith('_booking_id');
}

function intentIdsOf(rows: RelatedRow[]): string[] {
  const ids = new Set<string>();
  for (const { row } of rows) {
    for (const [column, value] of Object.entries(row)) {
      if (isIntentColumn(column) && typeof value === 'string' && value.length > 0) ids.add(value);
    }
  }
  return [...ids];
}

/** Every payment-side row that names the booking or one of its payment intents. */
export async function relatedRows(db: Queryable, bookingId: string): Promise<{ tables: string[]; rows: RelatedRow[] }> {
  const all = await columns(db);
  const byTable = new Map<string, ColumnInfo[]>();
  for (const info of all) {
    if (CORE_TABLES.has(info.table)) continue;
    byTable.set(info.table, [...(byTable.get(info.table) ?? []), info]);
  }
  const rows: RelatedRow[] = [];
  const seen = new Set<string>();
  const push = (table: string, found: Record<string, unknown>[]): void => {
    for (const row of found) {
      const key = `${table}:${JSON.stringify(row)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      rows.push({ table, row });
    }
  };

  // 1. Tables that point at the booking.
  for (const [table, cols] of byTable) {
    for (const c of cols.filter((col) => isBookingColumn(col.column))) {
      const result = await db.query(
        `SELECT * FROM ${pg.escapeIdentifier(table)} WHERE ${pg.escapeIdentifier(c.column)}::text = $1 LIMIT ${RELATED_ROWS_PER_TABLE_MAX}`,
        [bookingId],
      );
      push(table, result.rows);
    }
  }

  // 2. Tables that point at one of its payments.
  const paymentIds = rows.filter((r) => r.table === 'payments' && r.row.id !== undefined).map((r) => String(r.row.id));
  if (paymentIds.length > 0) {
    for (const [table, cols] of byTable) {
      if (!cols.some((c) => c.column === 'payment_id')) continue;
      const result = await db.query(`SELECT * FROM ${pg.escapeIdentifier(table)} WHERE payment_id::text = ANY($1) LIMIT ${RELATED_ROWS_PER_TABLE_MAX}`, [
        paymentIds,
      ]);
      push(table, result.rows);
    }
  }

  // 3. Tables that point at one of its provider intents, by column or in a JSON payload.
  const intents = intentIdsOf(rows);
  if (intents.length > 0) {
    for (const [table, cols] of byTable) {
      for (const c of cols.filter((col) => isIntentColumn(col.column) || col.column === 'object_id')) {
        const result = await db.query(
          `SELECT * FROM ${pg.escapeIdentifier(table)} WHERE ${pg.escapeIdentifier(c.column)}::text = ANY($1) LIMIT ${RELATED_ROWS_PER_TABLE_MAX}`,
          [intents],
        );
        push(table, result.rows);
      }
      if (!table.includes('event')) continue;
      for (const c of cols.filter((col) => col.type === 'jsonb')) {
        const result = await db.query(
          `SELECT * FROM ${pg.escapeIdentifier(table)} WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) i WHERE strpos(${pg.escapeIdentifier(c.column)}::text, i) > 0) LIMIT ${RELATED_ROWS_PER_TABLE_MAX}`,
          [intents],
        );
        push(table, result.rows);
      }
    }
  }
  return { tables: [...new Set(rows.map((r) => r.table))].sort(), rows };
}

/** Bookings named by a payment intent id, in any table that has both columns. */
export async function bookingsForPaymentIntent(db: Queryable, intentId: string): Promise<string[]> {
  const all = await columns(db);
  const byTable = new Map<string, ColumnInfo[]>();
  for (const info of all) byTable.set(info.table, [...(byTable.get(info.table) ?? []), info]);
  const found = new Set<string>();
  for (const [table, cols] of byTable) {
    if (!cols.some((c) => c.column === 'booking_id')) continue;
    for (const c of cols.filter((col) => isIntentColumn(col.column) && col.type === 'text')) {
      const result = await db.query(
        `SELECT DISTINCT booking_id::text AS id FROM ${pg.escapeIdentifier(table)} WHERE ${pg.escapeIdentifier(c.column)}::text = $1 AND booking_id IS NOT NULL`,
        [intentId],
      );
      for (const row of result.rows) found.add(String(row.id));
    }
  }
  return [...found];
}

const TIME_COLUMNS = ['occurred_at', 'received_at', 'at', 'created_at', 'processed_at', 'updated_at'];

/** The moment a related row records, from the first time column it has. */
export function relatedRowTime(row: Record<string, unknown>): string | null {
  for (const column of TIME_COLUMNS) {
    const value = row[column];
    if (value instanceof Date) return value.toISOString();
    if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) return new Date(value).toISOString();
  }
  return null;
}

const SUMMARY_COLUMNS = [
  'type',
  'event_type',
  'kind',
  'action',
  'purpose',
  'status',
  'from_status',
  'to_status',
  'state',
  'amount_cents',
  'currency',
  'provider_status',
  'provider_intent_id',
  'event_id',
  'deliveries',
  'outcome',
  'failure_code',
];

/** One line for a related row: its table and its telling columns. */
export function relatedRowSummary(table: string, row: Record<string, unknown>): string {
  const parts = SUMMARY_COLUMNS.filter((c) => row[c] !== undefined && row[c] !== null).map((c) => `${c}=${String(row[c])}`);
  return `${table}: ${parts.join(', ') || 'row'}`;
}
