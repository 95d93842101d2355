// Fresh test databases for a scenario test file, dropped after the file.

import { afterAll } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

/** Returns a factory of databases (simulation ones by default) that are all dropped when the file's tests end. */
export function scenarioDatabases(): (options?: { simulation?: boolean }) => Promise<TestDatabase> {
  const databases: TestDatabase[] = [];
  afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
  });
  return async (options = {}) => {
    const db = await createTestDatabase({ simulation: options.simulation ?? true, poolMax: 4 });
    databases.push(db);
    return db;
  };
}
