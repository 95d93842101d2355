// The CLI as a user runs it: happy paths print what they did, every bad input
// gets a clear error with a code and the SPEC exit code, and changes nothing.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { runCli } from './helpers.js';

const FUTURE_START = '2031-03-10T09:00:00Z';
const FUTURE_END = '2031-03-10T10:00:00Z';

describe('bookiji CLI', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let vendorId: string;
  let customerId: string;
  let slotId: string;

  async function rowCounts(): Promise<string> {
    const result = await db.pool.query(`SELECT (SELECT count(*) FROM vendors) AS v, (SELECT count(*) FROM customers) AS c,
      (SELECT count(*) FROM slots) AS s, (SELECT count(*) FROM bookings) AS b, (SELECT count(*) FROM audit_log) AS a`);
    return JSON.stringify(result.rows[0]);
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    env = { DATABASE_URL: db.connectionString };
    vendorId = ((await runCli(['vendor', 'add', '--name', 'Dr. Rivera', '--timezone', 'Europe/Paris', '--json'], env)).json() as { id: string }).id;
    customerId = ((await runCli(['customer', 'add', '--name', 'Ann', '--email', 'ann@example.test', '--json'], env)).json() as { id: string }).id;
    slotId = ((await runCli(['slot', 'add', '--vendor', vendorId, '--start', FUTURE_START, '--end', FUTURE_END, '--json'], env)).json() as { id: string }).id;
  });
  afterAll(async () => db.drop());

  it('proves book, show, reschedule, cancel, verify and audit verify work end to end', async () => {
    const other = (
      await runCli(['slot', 'add', '--vendor', vendorId, '--start', '2031-03-10T11:00:00Z', '--end', '2031-03-10T12:00:00Z', '--json'], env)
    ).json() as { id: string };
    const booked = await runCli(['book', '--slot', slotId, '--customer', customerId, '--idempotency-key', 'cli-1', '--json'], env);
    expect(booked.code).toBe(0);
    const booking = (booked.json() as { booking: { id: string; state: string } }).booking;
    expect(booking.state).toBe('confirmed');
    const again = await runCli(['book', '--slot', slotId, '--customer', customerId, '--idempotency-key', 'cli-1', '--json'], env);
    expect(again.json()).toMatchObject({ replayed: true, booking: { id: booking.id } });
    const moved = await runCli(['booking', 'reschedule', booking.id, '--slot', other.id, '--json'], env);
    expect(moved.code).toBe(0);
    expect(moved.json()).toMatchObject({ slotId: other.id, version: 2 });
    const stale = await runCli(['booking', 'cancel', booking.id, '--reason', 'x', '--expected-version', '1', '--json'], env);
    expect(stale.code).toBe(1);
    expect(JSON.parse(stale.stderr)).toMatchObject({ error: { code: 'VERSION_CONFLICT', retryable: false } });
    const cancelled = await runCli(['booking', 'cancel', booking.id, '--reason', 'customer called', '--json'], env);
    expect(cancelled.json()).toMatchObject({ state: 'cancelled', cancelReason: 'customer called' });
    const shown = await runCli(['booking', 'show', booking.id], env);
    expect(shown.stdout).toContain('cancelled: customer called');
    const verify = await runCli(['verify', '--json'], env);
    expect(verify.code).toBe(0);
    expect(verify.json()).toMatchObject({ ok: true });
    const audit = await runCli(['audit', 'verify'], env);
    expect(audit.code).toBe(0);
    expect(audit.stdout).toContain('audit log intact');
  });

  it('proves a conflict exits 1 with the code, message and hint on stderr and no stack trace', async () => {
    const slot = (
      await runCli(['slot', 'add', '--vendor', vendorId, '--start', '2031-04-01T09:00:00Z', '--end', '2031-04-01T10:00:00Z', '--json'], env)
    ).json() as { id: string };
    const second = (await runCli(['customer', 'add', '--name', 'Bo', '--email', 'bo@example.test', '--json'], env)).json() as { id: string };
    expect((await runCli(['book', '--slot', slot.id, '--customer', customerId], env)).code).toBe(0);
    const before = await rowCounts();
    const lost = await runCli(['book', '--slot', slot.id, '--customer', second.id], env);
    expect(lost.code).toBe(1);
    expect(lost.stderr).toMatch(/^error BOOKING_CONFLICT: slot .* is full \(capacity 1\)\nhint: /);
    expect(lost.stderr).not.toMatch(/\n\s+at /);
    expect(await rowCounts()).toBe(before);
  });

  // Each bad input: the arguments, the exit code, the error code (null for a
  // commander usage error, which has its own message).
  const badInputs: Array<[string, () => string[], 0 | 1 | 2, string | null]> = [
    ['vendor add without a name', () => ['vendor', 'add', '--timezone', 'Europe/Paris'], 2, null],
    ['vendor add with an unknown zone', () => ['vendor', 'add', '--name', 'X', '--timezone', 'Mars/Olympus'], 2, 'VALIDATION_ERROR'],
    ['vendor add with an empty name', () => ['vendor', 'add', '--name', '  ', '--timezone', 'UTC'], 2, 'VALIDATION_ERROR'],
    ['customer add with a bad email', () => ['customer', 'add', '--name', 'X', '--email', 'not-an-email'], 2, 'VALIDATION_ERROR'],
    ['customer add with a duplicate email', () => ['customer', 'add', '--name', 'X', '--email', 'ANN@example.test'], 2, 'VALIDATION_ERROR'],
    ['slot add with end before start', () => ['slot', 'add', '--vendor', vendorId, '--start', FUTURE_END, '--end', FUTURE_START], 2, 'VALIDATION_ERROR'],
    [
      'slot add with a time without zone',
      () => ['slot', 'add', '--vendor', vendorId, '--start', '2031-03-10T09:00', '--end', FUTURE_END],
      2,
      'VALIDATION_ERROR',
    ],
    [
      'slot add with capacity 0',
      () => ['slot', 'add', '--vendor', vendorId, '--start', '2031-05-10T09:00:00Z', '--end', '2031-05-10T10:00:00Z', '--capacity', '0'],
      2,
      'VALIDATION_ERROR',
    ],
    [
      'slot add with a negative price',
      () => ['slot', 'add', '--vendor', vendorId, '--start', '2031-05-10T09:00:00Z', '--end', '2031-05-10T10:00:00Z', '--price-cents', '-5'],
      2,
      'VALIDATION_ERROR',
    ],
    [
      'slot add for an unknown vendor',
      () => ['slot', 'add', '--vendor', '00000000-0000-4000-8000-000000000000', '--start', '2031-05-10T09:00:00Z', '--end', '2031-05-10T10:00:00Z'],
      1,
      'VENDOR_NOT_FOUND',
    ],
    ['slot list with a bad vendor id', () => ['slot', 'list', '--vendor', 'abc'], 2, 'VALIDATION_ERROR'],
    ['book an unknown slot', () => ['book', '--slot', '00000000-0000-4000-8000-000000000000', '--customer', customerId], 1, 'SLOT_NOT_FOUND'],
    ['book for an unknown customer', () => ['book', '--slot', slotId, '--customer', '00000000-0000-4000-8000-000000000000'], 1, 'CUSTOMER_NOT_FOUND'],
    ['book with a bad payment method', () => ['book', '--slot', slotId, '--customer', customerId, '--payment-method', 'iou'], 2, 'VALIDATION_ERROR'],
    ['book with a hold TTL of zero', () => ['book', '--slot', slotId, '--customer', customerId, '--hold', '--hold-ttl', '0'], 2, 'VALIDATION_ERROR'],
    ['book with a key containing spaces', () => ['book', '--slot', slotId, '--customer', customerId, '--idempotency-key', 'a b'], 2, 'VALIDATION_ERROR'],
    ['booking show of an unknown id', () => ['booking', 'show', '00000000-0000-4000-8000-000000000000'], 1, 'BOOKING_NOT_FOUND'],
    ['booking cancel with a bad id', () => ['booking', 'cancel', 'x'], 2, 'VALIDATION_ERROR'],
    ['booking reschedule without --slot', () => ['booking', 'reschedule', '00000000-0000-4000-8000-000000000000'], 2, null],
    ['booking cancel with an empty reason', () => ['booking', 'cancel', '00000000-0000-4000-8000-000000000000', '--reason', ''], 2, 'VALIDATION_ERROR'],
    ['an unknown command', () => ['teleport'], 2, null],
    ['an unknown option', () => ['verify', '--frobnicate'], 2, null],
    ['db reset without --yes', () => ['db', 'reset'], 2, 'USAGE_ERROR'],
    ['holds expire with nothing past its TTL', () => ['holds', 'expire'], 0, null],
  ];

  it.each(badInputs)('proves %s is refused with a clear error, the right exit code, and no change', async (_name, args, exitCode, errorCode) => {
    const before = await rowCounts();
    const result = await runCli([...args(), ...(errorCode ? ['--json'] : [])], env);
    expect(result.code).toBe(exitCode);
    if (errorCode) {
      const body = JSON.parse(result.stderr) as { error: { code: string; message: string; hint: string; retryable: boolean } };
      expect(body.error.code).toBe(errorCode);
      expect(body.error.message.length).toBeGreaterThan(0);
      expect(body.error.hint.length).toBeGreaterThan(0);
      expect(body.error.retryable).toBe(false);
    } else if (exitCode === 2) {
      expect(result.stderr).toMatch(/error|unknown|required/i);
    }
    expect(await rowCounts()).toBe(before);
  });

  it('proves --help teaches: every command group lists its subcommands with an example where it matters', async () => {
    const help = await runCli(['--help'], env);
    expect(help.code).toBe(0);
    for (const group of ['db', 'vendor', 'customer', 'slot', 'book', 'booking', 'holds', 'verify', 'audit']) expect(help.stdout).toContain(group);
    const bookHelp = await runCli(['book', '--help'], env);
    expect(bookHelp.stdout).toContain('Examples:');
    expect(bookHelp.stdout).toContain('--idempotency-key');
  });
});
