// `bookiji verify` and `bookiji audit verify`: read-only checks of the
// database's truth. The queries live in SQL (verify_invariants, audit_verify).

import { queryWithRetry, type Pool } from '../db/pool.js';

export interface CheckResult {
  checkId: string;
  description: string;
  violations: number;
  sample: unknown[] | null;
}

// The booking checks (C1-C4, I1-I10), then the payment ledger (P1-P4, part
// of I4) and the reservation machine (R1-R4): one report, one exit code.
const ALL_CHECKS = `
  SELECT * FROM verify_invariants()
  UNION ALL SELECT * FROM verify_payments()
  UNION ALL SELECT * FROM verify_reservations()`;

export async function verifyInvariants(pool: Pool): Promise<CheckResult[]> {
  const result = await queryWithRetry(pool, ALL_CHECKS);
  return result.rows.map((row) => ({ checkId: row.check_id, description: row.description, violations: Number(row.violations), sample: row.sample }));
}

export interface AuditProblem {
  vendorId: string;
  seq: number;
  problem: string;
}

export interface AuditReport {
  rowsChecked: number;
  chains: number;
  problems: AuditProblem[];
}

export async function verifyAudit(pool: Pool, options: { vendorId?: string } = {}): Promise<AuditReport> {
  const vendorId = options.vendorId ?? null;
  const problems = await queryWithRetry(pool, 'SELECT * FROM audit_verify($1)', [vendorId]);
  const counts = await queryWithRetry(
    pool,
    'SELECT count(*) AS rows, count(DISTINCT vendor_id) AS chains FROM audit_log WHERE $1::uuid IS NULL OR vendor_id = $1',
    [vendorId],
  );
  return {
    rowsChecked: Number(counts.rows[0]!.rows),
    chains: Number(counts.rows[0]!.chains),
    problems: problems.rows.map((row) => ({ vendorId: row.vendor_id, seq: Number(row.seq), problem: row.problem })),
  };
}
