// bookiji db start | stop | status | migrate | reset --yes

import type { Command } from 'commander';
import { BookijiError } from '../../errors.js';
import { printJson, printRecord, printTable, success } from '../output.js';

export function registerDb(program: Command): void {
  const db = program
    .command('db')
    .description('Manage the database: the embedded PostgreSQL under BOOKIJI_HOME (default ./.bookiji), or DATABASE_URL when set.');
  registerDbStart(db);
  registerDbStop(db);
  registerDbStatus(db);
  registerDbMigrate(db);
  registerDbReset(db);
}

function registerDbStart(db: Command): void {
  db.command('start')
    .description('Start the embedded PostgreSQL (it stays up between commands, like a local development database).')
    .addHelpText('after', '\nExample:\n  bookiji db start --json\n')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      assertEmbedded('start');
      const { bookijiHome } = await import('../../db/database.js');
      const { ensureEmbeddedServer, dataDirOf } = await import('../../db/embeddedServer.js');
      const home = bookijiHome();
      const startedAt = Date.now();
      const credentials = await ensureEmbeddedServer({ home });
      const dataDir = dataDirOf(home);
      const result = { running: true, home, dataDir, port: credentials.port, tookMs: Date.now() - startedAt };
      if (options.json) printJson(result);
      else success(`PostgreSQL running on 127.0.0.1:${credentials.port} (data in ${dataDir})`);
    });
}

function registerDbStop(db: Command): void {
  db.command('stop')
    .description('Stop the embedded PostgreSQL.')
    .addHelpText('after', '\nExample:\n  bookiji db stop\n')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      assertEmbedded('stop');
      const { bookijiHome } = await import('../../db/database.js');
      const { stopEmbeddedServer } = await import('../../db/embeddedServer.js');
      const stopped = await stopEmbeddedServer(bookijiHome());
      if (options.json) printJson({ stopped });
      else success(stopped ? 'PostgreSQL stopped' : 'PostgreSQL was not running');
    });
}

function registerDbStatus(db: Command): void {
  db.command('status')
    .description('Show the server, the schema version, and pending or edited migrations.')
    .addHelpText('after', '\nExample:\n  bookiji db status --json\n')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { bookijiHome } = await import('../../db/database.js');
      const { embeddedServerStatus } = await import('../../db/embeddedServer.js');
      const server = process.env.DATABASE_URL
        ? { mode: 'DATABASE_URL', running: true }
        : await embeddedServerStatus(bookijiHome()).then((s) => ({
            mode: 'embedded',
            running: s.running,
            initialised: s.initialised,
            home: s.home,
            dataDir: s.dataDir,
            // As root the server runs as `postgres`; a home it cannot reach keeps only a pointer to the data.
            ...(s.relocated ? { relocated: `the data is outside BOOKIJI_HOME (recorded in ${s.pointerFile})` } : {}),
            logFile: s.logFile,
            pid: s.pid,
            port: s.credentials?.port,
          }));
      let schema: Record<string, unknown> = { applied: null };
      if (server.running) {
        const { withDatabase } = await import('../context.js');
        const { migrationStatus, schemaDigest } = await import('../../db/migrate.js');
        schema = await withDatabase(
          async ({ pool }) => {
            const status = await migrationStatus(pool);
            return {
              applied: status.applied.map((m) => `${String(m.version).padStart(4, '0')}_${m.name}`),
              pending: status.pending.map((m) => `${String(m.version).padStart(4, '0')}_${m.name}`),
              edited: status.edited.map((m) => `${String(m.version).padStart(4, '0')}_${m.name}`),
              schemaDigest: schemaDigest(status.applied),
              serverVersion: (await pool.query('SHOW server_version')).rows[0].server_version,
            };
          },
          { migrate: false },
        );
      }
      const report = { server, schema };
      if (options.json) {
        printJson(report);
        return;
      }
      printRecord({ ...server, ...schema });
    });
}

function registerDbMigrate(db: Command): void {
  db.command('migrate')
    .description('Apply pending migrations (every command also does this on its own).')
    .addHelpText('after', '\nExample:\n  bookiji db migrate\n')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { migrate } = await import('../../db/migrate.js');
      const applied = await withDatabase(({ pool }) => migrate(pool), { migrate: false });
      const names = applied.map((m) => `${String(m.version).padStart(4, '0')}_${m.name}`);
      if (options.json) printJson({ applied: names });
      else if (names.length === 0) success('schema is up to date');
      else
        printTable(
          ['applied migration'],
          names.map((n) => [n]),
        );
    });
}

function registerDbReset(db: Command): void {
  db.command('reset')
    .description('Drop every table and function, then migrate again. Destroys all data.')
    .addHelpText('after', '\nExample:\n  bookiji db reset --yes\n')
    .option('--yes', 'really destroy all data')
    .option('--json', 'print JSON')
    .action(async (options: { yes?: boolean; json?: boolean }) => {
      if (!options.yes) throw new BookijiError('USAGE_ERROR', 'db reset destroys all data; pass --yes to confirm', { hint: 'bookiji db reset --yes' });
      const { withDatabase } = await import('../context.js');
      const { migrate } = await import('../../db/migrate.js');
      const applied = await withDatabase(
        async ({ pool }) => {
          await pool.query('DROP SCHEMA public CASCADE');
          await pool.query('CREATE SCHEMA public');
          return migrate(pool);
        },
        { migrate: false },
      );
      if (options.json) printJson({ reset: true, applied: applied.length });
      else success(`database reset; ${applied.length} migrations applied`);
    });
}

function assertEmbedded(command: string): void {
  if (process.env.DATABASE_URL) {
    throw new BookijiError('USAGE_ERROR', `db ${command} manages the embedded server, but DATABASE_URL is set`, {
      hint: 'Unset DATABASE_URL to use the embedded PostgreSQL.',
    });
  }
}
