// A missing payment is PAYMENT_NOT_FOUND (404), not a missing booking; the
// webhook path treats only that code as "not our payment".

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getPayment } from '../../src/payments/store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

describe('payment lookups', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db.drop());

  it('reports an unknown payment id as PAYMENT_NOT_FOUND with HTTP 404', async () => {
    // Proves the code names the missing thing; it was BOOKING_NOT_FOUND before.
    await expect(getPayment(db.pool, '00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ code: 'PAYMENT_NOT_FOUND', httpStatus: 404 });
  });

  it('lets a database failure through instead of calling it a missing payment', async () => {
    // A malformed id is refused by PostgreSQL (22P02): an error the caller must see, never "not found".
    await expect(getPayment(db.pool, 'not-a-uuid')).rejects.not.toMatchObject({ code: 'PAYMENT_NOT_FOUND' });
  });
});
