// The CLI commands of the partner API and the availability engine, run as a user would: apikey, schedule, vendor import-ics, serve --help.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { makeVendor } from '../helpers/fixtures.js';
import { buildDist } from './build.js';
import { call, startTestApi } from './helpers.js';

let db: TestDatabase;
let dir: string;

function bookiji(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, ['bin/bookiji', ...args], {
    env: { ...process.env, DATABASE_URL: db.connectionString, NO_COLOR: '1' },
    encoding: 'utf8',
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

beforeAll(async () => {
  buildDist();
  db = await createTestDatabase();
  dir = mkdtempSync(path.join(os.tmpdir(), 'bookiji-cli-'));
}, 180_000);

afterAll(async () => {
  await db.drop();
});

describe('bookiji apikey', () => {
  it('creates a key shown once, lists it without the key, rotates and revokes it', async () => {
    // Proves the key life cycle from the command line, and that listings never show a key.
    const created = bookiji('apikey', 'create', '--partner', 'cli-partner', '--webhook-url', 'http://127.0.0.1:9/hooks', '--json');
    expect(created.status).toBe(0);
    const key = JSON.parse(created.stdout) as { key: string; prefix: string; id: string };
    expect(key.key).toMatch(/^bk_[0-9a-f]{12}_/);
    const listed = bookiji('apikey', 'list', '--partner', 'cli-partner', '--json');
    expect(listed.status).toBe(0);
    expect(listed.stdout).not.toContain(key.key);
    expect(JSON.parse(listed.stdout)).toMatchObject([{ prefix: key.prefix, revokedAt: null }]);

    const api = await startTestApi(db.pool);
    try {
      const vendor = await makeVendor(db.pool);
      const path = `/v1/vendors/${vendor.id}/availability?startTime=2030-01-01T00:00:00Z&endTime=2030-01-02T00:00:00Z`;
      expect((await call(api.server.url, 'GET', path, { key: key.key })).status).toBe(200);
      const rotated = bookiji('apikey', 'rotate', key.prefix, '--json');
      expect(rotated.status).toBe(0);
      const fresh = JSON.parse(rotated.stdout) as { key: string; id: string };
      expect((await call(api.server.url, 'GET', path, { key: key.key })).status).toBe(401);
      expect((await call(api.server.url, 'GET', path, { key: fresh.key })).status).toBe(200);
      expect(bookiji('apikey', 'revoke', fresh.id).status).toBe(0);
      expect((await call(api.server.url, 'GET', path, { key: fresh.key })).status).toBe(401);
      const again = bookiji('apikey', 'revoke', fresh.id, '--json');
      expect(again.status).toBe(2);
      expect(JSON.parse(again.stderr).error.code).toBe('VALIDATION_ERROR');
    } finally {
      await api.server.close();
    }
  });
});

describe('bookiji schedule and vendor import-ics', () => {
  it('sets rules from a file, imports a calendar and refreshes slots around the busy time', async () => {
    // Proves the availability commands work end to end against the database.
    const vendor = await makeVendor(db.pool, 'Europe/Paris');
    const rulesFile = path.join(dir, 'rules.json');
    writeFileSync(
      rulesFile,
      JSON.stringify({
        timezone: 'Europe/Paris',
        weeklyHours: Object.fromEntries([1, 2, 3, 4, 5, 6, 7].map((d) => [String(d), [{ start: '09:00', end: '12:00' }]])),
        slotDurationMin: 60,
        maxDaysAhead: 7,
        capacityPerSlot: 1,
      }),
    );
    const set = bookiji('schedule', 'set', vendor.id, '--file', rulesFile, '--price-cents', '1500', '--json');
    expect(set.status, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ vendorId: vendor.id, priceCents: 1500 });
    // Busy every day 10:00–11:00 Paris time for the next two weeks.
    const ics = [
      'BEGIN:VCALENDAR',
      'VERSION:2.0',
      'PRODID:-//t//EN',
      'BEGIN:VEVENT',
      'UID:daily@t',
      'DTSTAMP:20260101T000000Z',
      `DTSTART;TZID=Europe/Paris:${new Date().toISOString().slice(0, 10).replace(/-/g, '')}T100000`,
      'DURATION:PT1H',
      'RRULE:FREQ=DAILY;COUNT=14',
      'END:VEVENT',
      'END:VCALENDAR',
      '',
    ].join('\r\n');
    const icsFile = path.join(dir, 'busy.ics');
    writeFileSync(icsFile, ics);
    const imported = bookiji('vendor', 'import-ics', vendor.id, icsFile, '--json');
    expect(imported.status, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout).intervals).toBeGreaterThanOrEqual(13);
    const refreshed = bookiji('schedule', 'refresh', vendor.id, '--json');
    expect(refreshed.status, refreshed.stderr).toBe(0);
    expect(JSON.parse(refreshed.stdout).created).toBeGreaterThan(0);
    const starts = (
      await db.pool.query(`SELECT to_char(starts_at AT TIME ZONE 'Europe/Paris', 'HH24:MI') AS t FROM slots WHERE vendor_id = $1`, [vendor.id])
    ).rows.map((r) => r.t);
    expect(starts).not.toContain('10:00');
    expect(starts).toContain('09:00');
    const shown = bookiji('schedule', 'show', vendor.id, '--json');
    expect(JSON.parse(shown.stdout).rules.slotDurationMin).toBe(60);
  });

  it('refuses rules with a misspelt field with exit code 2 and names the field', () => {
    // Proves bad rules never reach the database from the command line.
    const rulesFile = path.join(dir, 'bad.json');
    writeFileSync(
      rulesFile,
      JSON.stringify({ timezone: 'Europe/Paris', weeklyHours: {}, slotDurationMin: 30, maxDaysAhead: 7, capacityPerSlot: 1, bufferAfterMins: 10 }),
    );
    const run = bookiji('schedule', 'set', '00000000-0000-4000-8000-000000000000', '--file', rulesFile, '--json');
    expect(run.status).not.toBe(0);
    expect(JSON.parse(run.stderr).error.code).toMatch(/VALIDATION_ERROR|VENDOR_NOT_FOUND/);
  });

  it('documents serve with an example', () => {
    // Proves `bookiji serve --help` teaches the endpoints and options.
    const help = bookiji('serve', '--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--rate-limit/);
    expect(help.stdout).toMatch(/Example:/);
  });
});
