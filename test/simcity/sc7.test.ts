// SC-7, forensics: the run's own bookings reconstructed with no unknowns,
// and a tampered audit log detected; reports a violation when the audit
// verifier is blind.

import { describe, expect, it } from 'vitest';
import { formatSnapshot, runScenario } from '../../src/simcity/index.js';
import { expectShippedEnginePasses } from './exercised.js';
import { scenarioDatabases } from './scenarioDatabases.js';
import { BLIND_AUDIT_VERIFY_SQL } from './unsafeEngine.js';

const simulation = scenarioDatabases();

describe('SC-7 forensics', () => {
  it('passes on the real engine: picked bookings explained, every tampering reported', async () => {
    // Proves forensics explains the run's own messy histories and the audit chain exposes edits and deletions.
    const db = await simulation();
    const result = await expectShippedEnginePasses('SC-7', db.connectionString, { iterations: 2, mustReach: ['I8', 'I10'] });
    const tampering = result.historyTail.filter((e) => e.action === 'tamper_audit' && e.type === 'ok');
    expect(tampering).toHaveLength(2);
    for (const event of tampering) expect(String(event.value!.update)).toMatch(/^refused /);
    const reconstructed = result.historyTail
      .filter((e) => e.action === 'reconstruct' && e.type === 'ok')
      .flatMap((e) => JSON.parse(String(e.value!.reconstructed)) as unknown[]);
    expect(reconstructed.length).toBeGreaterThanOrEqual(2);
  });

  it('fails against an audit verifier that never reports a broken chain', async () => {
    // Proves SC-7's tamper closing meets I8: an edited row the verifier misses is a violation.
    const db = await simulation();
    await db.pool.query(BLIND_AUDIT_VERIFY_SQL);
    const result = await runScenario({ scenarioId: 'SC-7', seed: 'broken-1', iterations: 2, connectionString: db.connectionString, commit: 'test' });
    expect(result.verdict).toBe('violation');
    expect(result.violations.map((v) => v.oracle)).toContain('audit-tamper-detected');
    expect(formatSnapshot(result.forensicSnapshot!)).toContain('FORENSIC SNAPSHOT — SC-7');
  });
});
