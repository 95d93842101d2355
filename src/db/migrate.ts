// Plain numbered SQL migrations (migrations/0001_name.sql …), applied in
// order, each in its own transaction, recorded with a SHA-256 checksum.
//
// Two migrators racing: both take the same session advisory lock before
// reading what is applied, so the second waits and then finds nothing to do.
// An applied migration whose file changed is refused, never re-run.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BookijiError } from '../errors.js';
import type { Pool } from './pool.js';

export interface MigrationFile {
  version: number;
  name: string;
  checksum: string;
  sql: string;
}

export interface AppliedMigration {
  version: number;
  name: string;
  checksum: string;
  appliedAt: Date;
}

export interface MigrationStatus {
  applied: AppliedMigration[];
  pending: MigrationFile[];
  /** Applied migrations whose file on disk no longer matches. */
  edited: Array<{ version: number; name: string }>;
  /** Applied migrations with no file on disk (the database is newer than this code). */
  unknown: AppliedMigration[];
}

// Both src/db and dist/db sit two levels below the package root.
export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'migrations');

// A fixed key for the migration lock; any 64-bit number unique to us.
const MIGRATION_LOCK_KEY = 7_345_201_118;
const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export function readMigrationFiles(dir: string = MIGRATIONS_DIR): MigrationFile[] {
  return readdirSync(dir)
    .filter((file) => FILE_PATTERN.test(file))
    .sort()
    .map((file) => {
      const match = FILE_PATTERN.exec(file)!;
      const sql = readFileSync(path.join(dir, file), 'utf8');
      return { version: Number(match[1]), name: match[2]!, checksum: sha256(sql), sql };
    });
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** One digest for the whole applied schema: what a certification is about. */
export function schemaDigest(applied: Array<{ version: number; checksum: string }>): string {
  return sha256(applied.map((m) => `${m.version}:${m.checksum}`).join('\n'));
}

const CREATE_TABLE = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`;

async function readApplied(pool: Pick<Pool, 'query'>): Promise<AppliedMigration[]> {
  const exists = await pool.query<{ present: boolean }>(`SELECT to_regclass('schema_migrations') IS NOT NULL AS present`);
  if (!exists.rows[0]?.present) return [];
  const result = await pool.query<{ version: number; name: string; checksum: string; applied_at: Date }>(
    'SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version',
  );
  return result.rows.map((row) => ({ version: row.version, name: row.name, checksum: row.checksum, appliedAt: row.applied_at }));
}

export async function migrationStatus(pool: Pool, files: MigrationFile[] = readMigrationFiles()): Promise<MigrationStatus> {
  const applied = await readApplied(pool);
  const byVersion = new Map(files.map((file) => [file.version, file]));
  const appliedVersions = new Set(applied.map((m) => m.version));
  return {
    applied,
    pending: files.filter((file) => !appliedVersions.has(file.version)),
    edited: applied
      .filter((m) => byVersion.has(m.version) && byVersion.get(m.version)!.checksum !== m.checksum)
      .map(({ version, name }) => ({ version, name })),
    unknown: applied.filter((m) => !byVersion.has(m.version)),
  };
}

function assertConsistent(status: MigrationStatus): void {
  if (status.edited.length > 0) {
    const list = status.edited.map((m) => `${String(m.version).padStart(4, '0')}_${m.name}`).join(', ');
    throw new BookijiError('MIGRATION_ERROR', `applied migration(s) edited since they ran: ${list}`, {
      hint: 'Never edit an applied migration; restore the file and add a new numbered migration instead.',
    });
  }
  if (status.unknown.length > 0) {
    throw new BookijiError(
      'MIGRATION_ERROR',
      `the database has migrations this version of bookiji does not know (${status.unknown.map((m) => m.version).join(', ')})`,
      {
        hint: 'Upgrade bookiji, or point it at another database.',
      },
    );
  }
}

/** Applies every pending migration; returns the ones it applied. */
export async function migrate(pool: Pool, files: MigrationFile[] = readMigrationFiles()): Promise<MigrationFile[]> {
  const client = await pool.connect();
  const appliedNow: MigrationFile[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(CREATE_TABLE);
    const status = await migrationStatus(client as unknown as Pool, files);
    assertConsistent(status);
    for (const file of status.pending) {
      try {
        await client.query('BEGIN');
        await client.query(file.sql);
        await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [file.version, file.name, file.checksum]);
        await client.query('COMMIT');
        appliedNow.push(file);
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new BookijiError('MIGRATION_ERROR', `migration ${String(file.version).padStart(4, '0')}_${file.name} failed: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    client.release();
  }
  return appliedNow;
}

/** Cheap check for every command: is the schema current? Migrates when it is not. */
export async function ensureMigrated(pool: Pool): Promise<void> {
  const files = readMigrationFiles();
  const status = await migrationStatus(pool, files);
  assertConsistent(status);
  if (status.pending.length > 0) await migrate(pool, files);
}
