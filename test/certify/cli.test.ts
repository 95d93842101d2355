import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { runCli } from '../forensics/cli.js';

let db: TestDatabase;
let home: string;

beforeAll(async () => {
  db = await createTestDatabase();
  home = mkdtempSync(path.join(os.tmpdir(), 'bookiji-certify-cli-'));
});

afterAll(async () => {
  await db.drop();
});

describe('bookiji keys and certify on the command line', () => {
  it('generates a key pair under BOOKIJI_HOME and refuses to overwrite it', async () => {
    // Proves: keys generate writes the pair where certify looks for it, and never silently replaces a key.
    const env = { BOOKIJI_HOME: home, DATABASE_URL: db.connectionString };
    const first = await runCli(['keys', 'generate', '--json'], env);
    expect(first.code).toBe(0);
    const pair = JSON.parse(first.stdout);
    expect(pair.privateKeyPath).toBe(path.join(home, 'keys', 'bookiji-signing.key'));
    const again = await runCli(['keys', 'generate'], env);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exists');
  });

  it('certifies selected phases in its own databases, signs, and verify accepts it until one byte changes', async () => {
    // Proves: certify writes a signed report that certify verify authenticates, exits 1 when not every phase ran, and a one-byte edit is refused.
    const env = { BOOKIJI_HOME: home, DATABASE_URL: db.connectionString };
    const out = path.join(home, 'reports');
    const run = await runCli(['certify', '--phases', '6', '--seed', '31337', '--out', out], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('NOT CERTIFIED');
    expect(run.stdout).toContain('replay: bookiji certify --profile quick --seed 31337 --phases 6');
    const report = JSON.parse(readFileSync(path.join(out, 'scheduling-certification-v1.json'), 'utf8'));
    expect(report.phases.find((p: { id: number }) => p.id === 6).status).toBe('PASS');
    expect(report.reasons.some((r: string) => r.startsWith('Phase 1 (Atomic slot) NOT RUN'))).toBe(true);
    // Nothing was written to the user's database.
    expect(Number((await db.pool.query('SELECT count(*) AS n FROM bookings')).rows[0].n)).toBe(0);

    const envelope = path.join(out, 'scheduling-certification-v1.dsse.json');
    const verified = await runCli(['certify', 'verify', envelope, '--json'], env);
    const outcome = JSON.parse(verified.stdout);
    expect(outcome.authentic).toBe(true);
    expect(outcome.verdict).toBe('NOT CERTIFIED');
    expect(verified.code).toBe(1);

    const bytes = readFileSync(envelope);
    bytes[Math.floor(bytes.length / 2)] = bytes[Math.floor(bytes.length / 2)]! ^ 0x01;
    writeFileSync(envelope, bytes);
    const tampered = await runCli(['certify', 'verify', envelope, '--key', path.join(home, 'keys', 'bookiji-signing.pub')], env);
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toContain('NOT AUTHENTIC');
  }, 180_000);

  it('refuses a malformed seed or phase list as a usage error', async () => {
    // Proves: bad options fail fast with exit 2 before any database work.
    const env = { BOOKIJI_HOME: home, DATABASE_URL: db.connectionString };
    expect((await runCli(['certify', '--seed', 'abc'], env)).code).toBe(2);
    expect((await runCli(['certify', '--phases', '1,9'], env)).code).toBe(2);
    expect((await runCli(['certify', '--profile', 'huge'], env)).code).toBe(2);
  });
});
