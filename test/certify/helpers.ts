// Certification databases for tests: a normal and a simulation database
// cloned from the migrated templates, and small phase parameters so each
// phase runs in seconds on two shared cores.

import type { CertifyDatabase } from '../../src/certify/context.js';
import type { ProfileParameters } from '../../src/certify/profiles.js';
import { runCertification } from '../../src/certify/runner.js';
import type { CertificationReport, PhaseId } from '../../src/certify/types.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

export const SMALL: ProfileParameters = {
  contendersPerRound: 8,
  contentionRounds: 2,
  contentionCapacity: 2,
  scenarioIterations: 3,
  scenarioConcurrency: 4,
  fuzzRuns: 40,
  probeCount: 20,
  killCount: 3,
  soakOperations: 400,
  soakWorkers: 3,
  soakDays: 4,
};

export interface CertifyTestDatabases {
  normal: TestDatabase;
  simulation: TestDatabase;
  drop(): Promise<void>;
}

export async function createCertifyDatabases(): Promise<CertifyTestDatabases> {
  // Named as certify names its pools: SC-6 kills the connections of `bookiji serve` (application "bookiji"), never the certifier's.
  const normal = await createTestDatabase({ applicationName: 'bookiji-certify' });
  const simulation = await createTestDatabase({ simulation: true, applicationName: 'bookiji-certify' });
  return {
    normal,
    simulation,
    async drop() {
      await normal.drop();
      await simulation.drop();
    },
  };
}

function asCertifyDatabase(db: TestDatabase): CertifyDatabase {
  return { name: db.name, connectionString: db.connectionString, pool: db.pool };
}

export async function certifyPhases(dbs: CertifyTestDatabases, phases: PhaseId[], seed = 7, params: ProfileParameters = SMALL): Promise<CertificationReport> {
  return runCertification({
    normal: asCertifyDatabase(dbs.normal),
    simulation: asCertifyDatabase(dbs.simulation),
    adminConnectionString: dbs.normal.adminConnectionString,
    profile: 'quick',
    params,
    seed,
    phases,
  });
}
