// The migrator: applies in order once, refuses an edited applied migration,
// and two migrators racing on an empty database both finish with one schema.

import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDatabaseExists } from '../../src/db/database.js';
import { migrate, migrationStatus, readMigrationFiles } from '../../src/db/migrate.js';
import { createPool, type Pool } from '../../src/db/pool.js';
import { BookijiError } from '../../src/errors.js';
import { inject } from 'vitest';
import { withDatabase } from '../helpers/database.js';

describe('migrations', () => {
  const admin = inject('adminConnectionString');
  const name = `t_migrate_${process.pid}`;
  let pool: Pool;
  beforeAll(async () => {
    await ensureDatabaseExists(admin, name);
    pool = createPool({ connectionString: withDatabase(admin, name), max: 10 });
  });
  afterAll(async () => {
    await pool.end();
    const cleanup = createPool({ connectionString: admin, max: 1 });
    await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await cleanup.end();
  });

  it('proves two migrators racing on an empty database apply every migration exactly once', async () => {
    const second = createPool({ connectionString: withDatabase(admin, name), max: 2 });
    const [a, b] = await Promise.all([migrate(pool), migrate(second)]);
    await second.end();
    const files = readMigrationFiles();
    expect(a.length + b.length).toBe(files.length);
    const status = await migrationStatus(pool);
    expect(status.pending).toEqual([]);
    expect(status.applied.map((m) => m.version)).toEqual(files.map((f) => f.version));
    expect(await migrate(pool)).toEqual([]);
  });

  it('proves an applied migration whose file changed is refused, and nothing is applied', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bookiji-migrations-'));
    const files = readMigrationFiles();
    for (const file of files) writeFileSync(path.join(dir, `${String(file.version).padStart(4, '0')}_${file.name}.sql`), file.sql);
    const first = files[0]!;
    writeFileSync(path.join(dir, `${String(first.version).padStart(4, '0')}_${first.name}.sql`), `${first.sql}\n-- edited\n`);
    writeFileSync(path.join(dir, '9999_never_applied.sql'), 'CREATE TABLE never_applied (id int);');
    const edited = readMigrationFiles(dir);
    const error = await migrate(pool, edited).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BookijiError);
    expect((error as BookijiError).code).toBe('MIGRATION_ERROR');
    expect((error as BookijiError).message).toContain(`${String(first.version).padStart(4, '0')}_${first.name}`);
    expect((await pool.query(`SELECT to_regclass('never_applied') AS t`)).rows[0].t).toBeNull();
  });
});
