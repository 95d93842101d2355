// Starts one PostgreSQL for the whole test run and prepares two migrated
// template databases (normal, and created for simulation). Each test file
// clones its own database from a template (test/helpers/database.ts), so
// files run in parallel without seeing each other's rows.
//
// With DATABASE_URL set, that server is used instead of the embedded one
// (its role needs CREATEDB); the templates are created there.

import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { connectionStringFor, ensureDatabaseExists } from '../../src/db/database.js';
import { destroyEmbeddedServer, ensureEmbeddedServer } from '../../src/db/embeddedServer.js';
import { migrate } from '../../src/db/migrate.js';
import { createPool } from '../../src/db/pool.js';

declare module 'vitest' {
  export interface ProvidedContext {
    adminConnectionString: string;
    templateNormal: string;
    templateSimulation: string;
  }
}

const TEMPLATE_NORMAL = 'bookiji_test_template';
const TEMPLATE_SIMULATION = 'bookiji_test_template_sim';

function withDatabase(connectionString: string, database: string): string {
  const url = new URL(connectionString);
  url.pathname = `/${database}`;
  return url.toString();
}

async function prepareTemplate(adminConnectionString: string, name: string, simulation: boolean): Promise<void> {
  const admin = createPool({ connectionString: adminConnectionString, max: 1 });
  try {
    await admin.query(`UPDATE pg_database SET datistemplate = false WHERE datname = $1`, [name]).catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
  await ensureDatabaseExists(adminConnectionString, name, { simulation });
  const pool = createPool({ connectionString: withDatabase(adminConnectionString, name), max: 1 });
  try {
    await migrate(pool);
  } finally {
    await pool.end();
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let home: string | undefined;
  let adminConnectionString: string;
  if (process.env.DATABASE_URL) {
    adminConnectionString = process.env.DATABASE_URL;
  } else {
    home = mkdtempSync(path.join(os.tmpdir(), 'bookiji-test-'));
    // mkdtemp makes it private; the server may run as another user (root runs it as postgres).
    chmodSync(home, 0o755);
    const credentials = await ensureEmbeddedServer({ home, disposable: true });
    adminConnectionString = connectionStringFor(credentials, 'postgres');
  }
  await prepareTemplate(adminConnectionString, TEMPLATE_NORMAL, false);
  await prepareTemplate(adminConnectionString, TEMPLATE_SIMULATION, true);
  project.provide('adminConnectionString', adminConnectionString);
  project.provide('templateNormal', TEMPLATE_NORMAL);
  project.provide('templateSimulation', TEMPLATE_SIMULATION);
  return async () => {
    if (home) {
      await destroyEmbeddedServer(home);
      rmSync(home, { recursive: true, force: true });
    }
  };
}
