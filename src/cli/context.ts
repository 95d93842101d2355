// What every data command needs: a database, opened once, closed after.

import type { Database } from '../db/database.js';

/** Opens the database (starting the embedded server if needed), runs `work`, closes. */
export async function withDatabase<T>(work: (db: Database) => Promise<T>, options: { migrate?: boolean } = {}): Promise<T> {
  const { openDatabase } = await import('../db/database.js');
  const db = await openDatabase({ migrate: options.migrate ?? true, poolMax: 4 });
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}
