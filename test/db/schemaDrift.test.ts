// schema/ is the schema in force, generated from the migrations: this test
// fails when a migration changed the schema and `npm run schema` was not run
// (or when someone edited schema/ by hand).

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMigrationFiles } from '../../src/db/migrate.js';
import { dumpSchema, readSchemaDir, schemaDifferences, supersededIndex, type SchemaFiles } from '../../src/db/schemaDump.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const SCHEMA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'schema');

describe('schema/ and the migrations', () => {
  let db: TestDatabase;
  let live: SchemaFiles;
  beforeAll(async () => {
    db = await createTestDatabase();
    live = await dumpSchema(db.pool);
    live.set('README.md', supersededIndex(readMigrationFiles(), live));
  });
  afterAll(async () => db.drop());

  it('agree file by file (run `npm run schema` after adding a migration)', () => {
    // Proves every function, view and table definition committed under schema/ is the one the migrations produce.
    expect(schemaDifferences(live, readSchemaDir(SCHEMA_DIR))).toEqual([]);
    expect(live.has('functions/claim_slot.sql')).toBe(true);
  });

  it('notices a function replaced by a later migration', async () => {
    // Twin: replacing one function in the database makes exactly that file differ.
    await db.pool.query(
      `CREATE OR REPLACE FUNCTION bookiji_now() RETURNS timestamptz LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$ SELECT now() $$`,
    );
    const changed = await dumpSchema(db.pool);
    changed.set('README.md', live.get('README.md')!);
    expect(schemaDifferences(changed, live)).toEqual(['changed: functions/bookiji_now.sql']);
  });
});
