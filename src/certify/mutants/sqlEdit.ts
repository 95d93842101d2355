// SQL mutations, made on a migrated database. A function is rewritten from
// its live definition (pg_get_functiondef) with a textual replacement that
// must match exactly once: a mutant that no longer applies after a refactor
// fails loudly instead of silently becoming the real engine.

import type { Pool } from '../../db/pool.js';

export class MutantDoesNotApply extends Error {}

export function occurrences(text: string, fragment: string): number {
  let count = 0;
  for (let at = text.indexOf(fragment); at !== -1; at = text.indexOf(fragment, at + 1)) count += 1;
  return count;
}

export function replaceOnce(text: string, from: string, to: string, where: string): string {
  const found = occurrences(text, from);
  if (found !== 1) throw new MutantDoesNotApply(`${where}: expected exactly one ${JSON.stringify(from.slice(0, 120))}, found ${found}`);
  const at = text.indexOf(from);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

/** CREATE OR REPLACE of `signature` with one fragment changed (its SET search_path kept, since the definition carries it). */
export async function rewriteFunction(pool: Pool, signature: string, from: string, to: string): Promise<void> {
  const { rows } = await pool.query(`SELECT pg_get_functiondef($1::regprocedure) AS def`, [signature]);
  const definition = String(rows[0]?.def ?? '');
  if (!definition) throw new MutantDoesNotApply(`${signature}: no such function`);
  await pool.query(replaceOnce(definition, from, to, signature));
}

/** Runs a DDL statement, refusing to run it when the object it changes is missing. */
export async function alterGuard(pool: Pool, check: { sql: string; params: unknown[] }, statement: string): Promise<void> {
  const found = await pool.query(check.sql, check.params);
  if (found.rowCount !== 1) throw new MutantDoesNotApply(`${statement}: the guard it removes is not there (${found.rowCount ?? 0} rows for ${check.sql})`);
  await pool.query(statement);
}

export function constraintExists(table: string, name: string): { sql: string; params: unknown[] } {
  return { sql: `SELECT 1 FROM pg_constraint WHERE conrelid = $1::regclass AND conname = $2`, params: [table, name] };
}

export function triggerExists(table: string, name: string): { sql: string; params: unknown[] } {
  return { sql: `SELECT 1 FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname = $2 AND tgenabled <> 'D'`, params: [table, name] };
}

export function indexExists(name: string): { sql: string; params: unknown[] } {
  return { sql: `SELECT 1 FROM pg_indexes WHERE schemaname = 'public' AND indexname = $1`, params: [name] };
}
