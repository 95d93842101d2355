// SC-10's listing probe against broken listings: availability swapped (by
// vi.mock, in this file only) for the real one plus the slots a broken query
// would let through, as the TypeScript mutants availability-lists-removed-slots
// and availability-lists-full-slots patch dist/ for certify.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Availability, AvailabilityQuery } from '../../src/api/availability.js';
import type { Pool } from '../../src/db/pool.js';
import { runScenario } from '../../src/simcity/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const broken = vi.hoisted(() => ({ extra: null as null | 'legacy' | 'full' }));

vi.mock('../../src/api/availability.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/api/availability.js')>();
  return {
    ...real,
    async queryAvailability(pool: Pool, query: AvailabilityQuery): Promise<Availability> {
      const listing = await real.queryAvailability(pool, query);
      if (broken.extra === null) return listing;
      const where = broken.extra === 'legacy' ? 'legacy' : 'NOT legacy AND booked_count >= capacity';
      const more = await pool.query(`SELECT id, capacity, booked_count FROM slots WHERE vendor_id = $1 AND starts_at >= $2 AND starts_at < $3 AND ${where}`, [
        query.vendorId,
        query.startTime,
        query.endTime,
      ]);
      const template = listing.slots[0]!;
      const added = more.rows.map((row) => ({
        ...template,
        slotId: row.id as string,
        capacity: Number(row.capacity),
        available: Number(row.capacity) - Number(row.booked_count),
      }));
      return { ...listing, slots: [...listing.slots, ...added] };
    },
  };
});

let db: TestDatabase | undefined;

afterEach(async () => {
  broken.extra = null;
  await db?.drop();
  db = undefined;
});

describe('SimCity SC-10 listing probe', () => {
  for (const [extra, what] of [
    ['legacy', 'slots a refresh removed'],
    ['full', 'full slots'],
  ] as const) {
    it(`finds a listing that offers ${what}`, async () => {
      // Proves: the listing-truthful oracle fails, in the first iteration, on availability that lists what takes no booking.
      db = await createTestDatabase({ poolMax: 8 });
      broken.extra = extra;
      const result = await runScenario({ scenarioId: 'SC-10', seed: 'sc10-listing', iterations: 1, connectionString: db.connectionString, commit: 'test' });
      expect(result.verdict).toBe('violation');
      expect(result.violations.map((v) => v.oracle)).toContain('listing-truthful');
    }, 120_000);
  }
});
