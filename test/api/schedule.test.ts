// The availability engine on the database: rules → slots across DST, ICS busy times, I7 on refresh, availability with confidence over HTTP.

import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importIcsText, refreshSchedule, setSchedule } from '../../src/api/schedules.js';
import { refreshVendorSlots } from '../../src/engine/slots.js';
import { claimSlot } from '../../src/engine/bookings.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { makeCustomer, makeVendor, race, TEST_ACTOR } from '../helpers/fixtures.js';
import { naiveDailySlots } from './fixtures/naiveSlots.js';
import { call, makePartner, startTestApi, type TestApi } from './helpers.js';

const ZONE = 'Europe/Paris';
// The simulated clock is moved to a fixed instant so that the DST days below
// are always inside the horizon, whatever day the tests run.
const SIMULATED_NOW = '2030-03-25T00:00:00Z';
const SPRING_FORWARD = '2030-03-31';
const FALL_BACK = '2030-10-27';
const ORDINARY = '2030-03-30';

let db: TestDatabase;
let api: TestApi;

beforeAll(async () => {
  db = await createTestDatabase({ simulation: true });
  await db.pool.query(`SELECT advance_clock($1::timestamptz - bookiji_now())`, [SIMULATED_NOW]);
  api = await startTestApi(db.pool);
});

afterAll(async () => {
  await api.server.close();
  await db.drop();
});

const nightRules = (overrides: Record<string, unknown> = {}) => ({
  timezone: ZONE,
  weeklyHours: Object.fromEntries([1, 2, 3, 4, 5, 6, 7].map((day) => [String(day), [{ start: '00:00', end: '06:00' }]])),
  slotDurationMin: 60,
  maxDaysAhead: 240,
  capacityPerSlot: 1,
  ...overrides,
});

interface StoredSlot {
  starts_at: Date;
  ends_at: Date;
}

async function liveSlots(vendorId: string): Promise<StoredSlot[]> {
  return (await db.pool.query('SELECT starts_at, ends_at FROM slots WHERE vendor_id = $1 AND NOT legacy ORDER BY starts_at', [vendorId])).rows;
}

/** What must hold for a night schedule 00:00–06:00 of hourly slots around DST; returns the violations. */
function dstViolations(slots: StoredSlot[]): string[] {
  const problems: string[] = [];
  const byDate = new Map<string, string[]>();
  for (const slot of slots) {
    const local = DateTime.fromJSDate(slot.starts_at, { zone: ZONE });
    byDate.set(local.toISODate()!, [...(byDate.get(local.toISODate()!) ?? []), local.toFormat('HH:mm ZZ')]);
    if (slot.ends_at.getTime() - slot.starts_at.getTime() !== 3_600_000) problems.push(`${slot.starts_at.toISOString()} does not last exactly one hour`);
  }
  for (let i = 1; i < slots.length; i++) {
    if (slots[i]!.starts_at < slots[i - 1]!.ends_at) problems.push(`${slots[i]!.starts_at.toISOString()} overlaps the slot before`);
  }
  // Real hours between local 00:00 and 06:00: 5 when the clock jumps forward, 7 when it falls back.
  const expected: Record<string, string[]> = {
    [ORDINARY]: ['00:00 +01:00', '01:00 +01:00', '02:00 +01:00', '03:00 +01:00', '04:00 +01:00', '05:00 +01:00'],
    [SPRING_FORWARD]: ['00:00 +01:00', '01:00 +01:00', '03:00 +02:00', '04:00 +02:00', '05:00 +02:00'],
    [FALL_BACK]: ['00:00 +02:00', '01:00 +02:00', '02:00 +02:00', '02:00 +01:00', '03:00 +01:00', '04:00 +01:00', '05:00 +01:00'],
  };
  for (const [date, starts] of Object.entries(expected)) {
    const actual = byDate.get(date) ?? [];
    if (JSON.stringify(actual) !== JSON.stringify(starts)) problems.push(`${date}: expected ${starts.join(', ')}, got ${actual.join(', ')}`);
  }
  return problems;
}

describe('schedule refresh across DST', () => {
  it('makes 5 real hours of slots on the spring-forward day and 7 on the fall-back day, none lost or doubled', async () => {
    // Proves rules → stored slots are DST-correct in the vendor's zone (no hour lost or doubled).
    const vendor = await makeVendor(db.pool, ZONE);
    await setSchedule(db.pool, vendor.id, nightRules(), {}, TEST_ACTOR);
    const result = await refreshSchedule(db.pool, vendor.id, TEST_ACTOR);
    expect(result.created).toBeGreaterThan(1000);
    expect(dstViolations(await liveSlots(vendor.id))).toEqual([]);
    // A second refresh with the same rules changes nothing.
    const again = await refreshSchedule(db.pool, vendor.id, TEST_ACTOR);
    expect({ created: again.created, deleted: again.deleted, madeLegacy: again.madeLegacy }).toEqual({ created: 0, deleted: 0, madeLegacy: 0 });
  });

  it('twin: the DST check catches a generator that reads wall times with the offset of midnight', async () => {
    // Proves dstViolations is not vacuous: naive slots (test fixture) stored through the same refresh function are caught.
    const vendor = await makeVendor(db.pool, ZONE);
    const wanted = naiveDailySlots(ZONE, [ORDINARY, SPRING_FORWARD, FALL_BACK], 0, 6);
    await refreshVendorSlots(db.pool, vendor.id, { from: new Date('2030-03-29T00:00:00Z'), to: new Date('2030-10-28T00:00:00Z') }, wanted, TEST_ACTOR);
    const problems = dstViolations(await liveSlots(vendor.id));
    expect(problems.some((p) => p.startsWith(SPRING_FORWARD))).toBe(true);
    expect(problems.some((p) => p.startsWith(FALL_BACK))).toBe(true);
  });
});

describe('rules changes and calendar imports', () => {
  it('keeps a booked slot as legacy when new rules drop it (I7) and hides it from availability', async () => {
    // Proves a schedule change never deletes or orphans a booked slot.
    const vendor = await makeVendor(db.pool, ZONE);
    await setSchedule(db.pool, vendor.id, nightRules({ maxDaysAhead: 10 }), {}, TEST_ACTOR);
    await refreshSchedule(db.pool, vendor.id, TEST_ACTOR);
    const target = (await db.pool.query(`SELECT id FROM slots WHERE vendor_id = $1 AND starts_at = '2030-03-27T01:00:00Z'`, [vendor.id])).rows[0];
    const booked = await claimSlot(db.pool, { slot: target.id, customer: (await makeCustomer(db.pool)).id }, TEST_ACTOR);
    // New rules: mornings only. The booked night slot must survive as legacy.
    await setSchedule(db.pool, vendor.id, nightRules({ maxDaysAhead: 10, weeklyHours: { '3': [{ start: '09:00', end: '10:00' }] } }), {}, TEST_ACTOR);
    const result = await refreshSchedule(db.pool, vendor.id, TEST_ACTOR);
    expect(result.madeLegacy).toBe(1);
    const kept = await db.pool.query('SELECT legacy FROM slots WHERE id = $1', [target.id]);
    expect(kept.rows[0].legacy).toBe(true);
    expect((await db.pool.query('SELECT state FROM bookings WHERE id = $1', [booked.booking.id])).rows[0].state).toBe('confirmed');
    const verify = await db.pool.query('SELECT check_id FROM verify_invariants() WHERE violations > 0');
    expect(verify.rows).toEqual([]);
    const partner = await makePartner(db.pool, 'legacy');
    const seen = await call(api.server.url, 'GET', `/v1/vendors/${vendor.id}/availability?startTime=2030-03-26T00:00:00Z&endTime=2030-03-29T00:00:00Z`, {
      key: partner.key,
    });
    expect(seen.status).toBe(200);
    expect(seen.body.slots.map((s: { slotId: string }) => s.slotId)).not.toContain(target.id);
  });

  it('blocks slots that overlap an imported calendar event (a weekly recurring one included)', async () => {
    // Proves ICS busy times, recurrence expanded, remove exactly the overlapping slots.
    const vendor = await makeVendor(db.pool, ZONE);
    await setSchedule(db.pool, vendor.id, nightRules({ maxDaysAhead: 14 }), {}, TEST_ACTOR);
    const ics = [
      'BEGIN:VCALENDAR',
      'VERSION:2.0',
      'PRODID:-//bookiji test//EN',
      'BEGIN:VEVENT',
      'UID:weekly-1@test',
      'DTSTAMP:20300101T000000Z',
      'DTSTART;TZID=Europe/Paris:20300326T020000',
      'DTEND;TZID=Europe/Paris:20300326T030000',
      'RRULE:FREQ=WEEKLY;COUNT=2',
      'END:VEVENT',
      'END:VCALENDAR',
      '',
    ].join('\r\n');
    const imported = await importIcsText(db.pool, vendor.id, ics, 'test.ics', TEST_ACTOR);
    expect(imported.intervals).toBe(2);
    await refreshSchedule(db.pool, vendor.id, TEST_ACTOR);
    const starts = (await liveSlots(vendor.id)).map((s) => DateTime.fromJSDate(s.starts_at, { zone: ZONE }).toFormat("yyyy-MM-dd'T'HH:mm"));
    expect(starts).not.toContain('2030-03-26T02:00');
    expect(starts).not.toContain('2030-04-02T02:00');
    expect(starts).toContain('2030-03-26T01:00');
    expect(starts).toContain('2030-03-27T02:00');
  });

  it('serializes concurrent refreshes of one vendor: both succeed and the slots are those of one refresh', async () => {
    // Proves two refreshes racing (real parallel connections) neither fail nor duplicate slots.
    const vendor = await makeVendor(db.pool, ZONE);
    await setSchedule(db.pool, vendor.id, nightRules({ maxDaysAhead: 5 }), {}, TEST_ACTOR);
    const outcomes = await race(4, () => refreshSchedule(db.pool, vendor.id, TEST_ACTOR));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    const created = outcomes.map((o) => (o.status === 'fulfilled' ? o.value.created : -1)).sort((a, b) => b - a);
    expect(created.slice(1)).toEqual([0, 0, 0]);
    expect((await liveSlots(vendor.id)).length).toBe(created[0]);
  });

  it("refuses rules with unknown fields or in another zone than the vendor's", async () => {
    // Proves rules are validated where they enter.
    const vendor = await makeVendor(db.pool, ZONE);
    await expect(setSchedule(db.pool, vendor.id, nightRules({ bufferAfterMins: 5 }), {}, TEST_ACTOR)).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    await expect(setSchedule(db.pool, vendor.id, nightRules({ timezone: 'America/New_York' }), {}, TEST_ACTOR)).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
      details: { field: 'timezone' },
    });
  });
});

describe('GET /v1/vendors/{id}/availability', () => {
  it('returns free slots with confidence and an explanation; a hold in flight lowers the score, a full slot disappears', async () => {
    // Proves the availability query reflects holds, bookings and calendar age, per slot.
    const vendor = await makeVendor(db.pool, ZONE);
    await setSchedule(db.pool, vendor.id, nightRules({ maxDaysAhead: 5, capacityPerSlot: 2 }), { priceCents: 2500 }, TEST_ACTOR);
    await importIcsText(db.pool, vendor.id, 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nEND:VCALENDAR\r\n', 'empty.ics', TEST_ACTOR);
    await refreshSchedule(db.pool, vendor.id, TEST_ACTOR);
    const partner = await makePartner(db.pool, 'avail');
    const path = `/v1/vendors/${vendor.id}/availability?startTime=2030-03-26T00:00:00%2B01:00&endTime=2030-03-27T00:00:00%2B01:00&slotDuration=60&includeConfidence=true`;
    const first = await call(api.server.url, 'GET', path, { key: partner.key });
    expect(first.status).toBe(200);
    expect(first.body.slots).toHaveLength(6);
    const [a, b] = first.body.slots;
    expect(a).toMatchObject({ capacity: 2, available: 2, priceCents: 2500, currency: 'EUR' });
    expect(a.confidence.score).toBe(1);
    expect(a.explanation).toMatch(/2 of 2 seat\(s\) free/);
    // One hold in flight on slot a, both seats booked on slot b.
    await claimSlot(db.pool, { slot: a.slotId, customer: (await makeCustomer(db.pool)).id, hold: true }, TEST_ACTOR);
    await claimSlot(db.pool, { slot: b.slotId, customer: (await makeCustomer(db.pool)).id }, TEST_ACTOR);
    await claimSlot(db.pool, { slot: b.slotId, customer: (await makeCustomer(db.pool)).id }, TEST_ACTOR);
    const second = await call(api.server.url, 'GET', path, { key: partner.key });
    expect(second.body.slots).toHaveLength(5);
    const held = second.body.slots.find((s: { slotId: string }) => s.slotId === a.slotId);
    expect(held.available).toBe(1);
    expect(held.confidence.score).toBeLessThan(1);
    expect(held.explanation).toMatch(/1 hold\(s\) in flight/);
    expect(second.body.slots.some((s: { slotId: string }) => s.slotId === b.slotId)).toBe(false);
    // Without includeConfidence the score is left out, the explanation stays.
    const plain = await call(api.server.url, 'GET', path.replace('&includeConfidence=true', ''), { key: partner.key });
    expect(plain.body.slots[0].confidence).toBeUndefined();
    expect(typeof plain.body.slots[0].explanation).toBe('string');
  });

  it('answers an unknown vendor with 404 VENDOR_NOT_FOUND and an over-wide window with 400', async () => {
    // Proves the endpoint's errors follow the taxonomy.
    const partner = await makePartner(db.pool, 'avail-err');
    const missing = await call(
      api.server.url,
      'GET',
      '/v1/vendors/00000000-0000-4000-8000-000000000000/availability?startTime=2030-03-26T00:00:00Z&endTime=2030-03-27T00:00:00Z',
      { key: partner.key },
    );
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('VENDOR_NOT_FOUND');
    const vendor = await makeVendor(db.pool, ZONE);
    const wide = await call(api.server.url, 'GET', `/v1/vendors/${vendor.id}/availability?startTime=2030-01-01T00:00:00Z&endTime=2031-01-01T00:00:00Z`, {
      key: partner.key,
    });
    expect(wide.status).toBe(400);
    expect(wide.body.error.field).toBe('endTime');
  });
});
