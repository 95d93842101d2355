// Reading outcomes in tests: the error code a promise ends with, and which
// verify checks currently fail.

import { BookijiError } from '../../src/errors.js';
import { verifyInvariants } from '../../src/engine/verify.js';
import type { TestDatabase } from './database.js';

/** 'ok', the BookijiError code, or 'unexpected: …' for anything else. */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    return error instanceof BookijiError ? error.code : `unexpected: ${String(error)}`;
  }
}

/** The ids of the verify checks that report violations right now. */
export async function failingChecks(db: TestDatabase): Promise<string[]> {
  return (await verifyInvariants(db.pool)).filter((c) => c.violations > 0).map((c) => c.checkId);
}
