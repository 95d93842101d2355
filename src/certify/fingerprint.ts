// "Nothing changed": a digest of every row a booking request can touch, so a
// refused attempt can be shown to have written nothing at all (SPEC §2: a
// rejected request changes nothing in the database).

import type { Queryable } from '../db/pool.js';

export interface Fingerprint {
  digest: string;
  bookings: number;
  transitions: number;
  auditRows: number;
}

export async function fingerprint(db: Queryable): Promise<Fingerprint> {
  const result = await db.query(`
    SELECT md5(coalesce((SELECT string_agg(b::text, '|' ORDER BY b.vendor_id, b.id) FROM bookings b), '')
            || coalesce((SELECT string_agg(s::text, '|' ORDER BY s.vendor_id, s.id) FROM slots s), '')
            || coalesce((SELECT string_agg(h::text, '|' ORDER BY h.vendor_id) FROM audit_chain_heads h), '')) AS digest,
           (SELECT count(*) FROM bookings) AS bookings,
           (SELECT count(*) FROM booking_transitions) AS transitions,
           (SELECT count(*) FROM audit_log) AS audit_rows`);
  const row = result.rows[0] as Record<string, unknown>;
  return { digest: String(row.digest), bookings: Number(row.bookings), transitions: Number(row.transitions), auditRows: Number(row.audit_rows) };
}

export function sameFingerprint(a: Fingerprint, b: Fingerprint): boolean {
  return a.digest === b.digest && a.bookings === b.bookings && a.transitions === b.transitions && a.auditRows === b.auditRows;
}
