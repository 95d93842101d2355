// What was certified and where: the git commit, the digest of the applied
// migrations, the PostgreSQL server, the tool. These become the signed
// Statement's subjects, so a certification cannot be moved to other code.

import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrationStatus, schemaDigest } from '../db/migrate.js';
import type { Pool } from '../db/pool.js';
import type { Environment } from './types.js';

const require = createRequire(import.meta.url);
const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: PACKAGE_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

export async function collectEnvironment(pool: Pool): Promise<Environment> {
  const status = await migrationStatus(pool);
  const version = (await pool.query('SHOW server_version')).rows[0]?.server_version as string;
  const commit = git(['rev-parse', 'HEAD']);
  const dirty = commit ? git(['status', '--porcelain', '--untracked-files=no']) : null;
  const { version: toolVersion } = require('../../package.json') as { version: string };
  return {
    gitCommit: commit ?? 'unknown',
    gitDirty: dirty === null ? null : dirty.length > 0,
    schemaDigest: schemaDigest(status.applied),
    migrations: status.applied.map((m) => ({ version: m.version, name: m.name, checksum: m.checksum })),
    postgresVersion: `PostgreSQL ${version}`,
    toolVersion: `bookiji ${toolVersion}`,
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    cpus: os.cpus().length,
  };
}
