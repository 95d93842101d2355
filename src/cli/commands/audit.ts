// bookiji audit verify | audit checkpoint: the hash chains, and signed
// checkpoints of their heads kept outside the database.

import { chalk } from '../colour.js';
import type { Command } from 'commander';
import { ReportedFailure } from '../reportedFailure.js';
import { printJson, printTable, success } from '../output.js';
import { signingKey } from '../signingKey.js';

interface VerifyOptions {
  vendor?: string;
  checkpoints?: string;
  key?: string;
  json?: boolean;
}

async function defaultCheckpointFile(): Promise<string> {
  const path = await import('node:path');
  const { bookijiHome } = await import('../../db/database.js');
  const { CHECKPOINT_FILE } = await import('../../audit/checkpoints.js');
  return path.join(bookijiHome(), CHECKPOINT_FILE);
}

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('The append-only, hash-chained audit log, and signed checkpoints of its chain heads.');
  audit
    .command('verify')
    .description(
      'Recompute every hash chain; with --checkpoints, also check every signed checkpoint still matches. Exit 1 on any edited, deleted, reordered or rewritten row.',
    )
    .option('--vendor <id>', "only this vendor's chain")
    .option('--checkpoints <file>', 'a checkpoint file written by `audit checkpoint` (detects a rewrite by the table owner before the last checkpoint)')
    .option('--key <file>', 'the public key the checkpoints were signed with (default: BOOKIJI_HOME/keys/bookiji-signing.pub)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  bookiji audit verify\n  bookiji audit verify --checkpoints .bookiji/audit-checkpoints.jsonl --key release.pub\n')
    .action(async (options: VerifyOptions) => {
      const { withDatabase } = await import('../context.js');
      const { verifyAudit } = await import('../../engine/verify.js');
      const { requireUuid } = await import('../../engine/validate.js');
      const vendorId = options.vendor === undefined ? undefined : requireUuid('vendor', options.vendor);
      const { report, anchored } = await withDatabase(async ({ pool }) => {
        const chains = await verifyAudit(pool, vendorId ? { vendorId } : {});
        if (!options.checkpoints) return { report: chains, anchored: undefined };
        const { verifyCheckpoints } = await import('../../audit/checkpoints.js');
        const { loadPublicKey } = await import('../../certify/signing/index.js');
        const { defaultPublicKeyPath } = await import('../../certify/keyLocation.js');
        return { report: chains, anchored: await verifyCheckpoints(pool, options.checkpoints, loadPublicKey(options.key ?? defaultPublicKeyPath())) };
      });
      const ok = report.problems.length === 0 && (anchored?.problems.length ?? 0) === 0;
      if (options.json) printJson({ ok, ...report, ...(anchored ? { checkpoints: anchored } : {}) });
      else printVerification(report, anchored, ok);
      if (!ok) throw new ReportedFailure(1);
    });

  audit
    .command('checkpoint')
    .description(
      "Sign every vendor's chain head (Ed25519, in-toto Statement in a DSSE envelope) and append it to the checkpoint file. Refuses when the chains do not verify.",
    )
    .option('--file <file>', 'the checkpoint file to append to (default: BOOKIJI_HOME/audit-checkpoints.jsonl)')
    .option('--key <file>', 'the Ed25519 private key (default: BOOKIJI_HOME/keys/bookiji-signing.key, generated on first use)')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  bookiji audit checkpoint\n  bookiji audit checkpoint --file /secure/audit-checkpoints.jsonl --key ops.key\n  bookiji audit verify --checkpoints /secure/audit-checkpoints.jsonl --key ops.pub\n',
    )
    .action(async (options: { file?: string; key?: string; json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { writeCheckpoint } = await import('../../audit/checkpoints.js');
      const privateKey = await signingKey(options.key);
      const file = options.file ?? (await defaultCheckpointFile());
      const written = await withDatabase(({ pool }) => writeCheckpoint(pool, file, privateKey));
      if (options.json) printJson(written);
      else success(`checkpoint of ${written.heads} chain head(s) appended to ${written.file} (key ${written.keyId})`);
    });
}

type AuditReport = Awaited<ReturnType<typeof import('../../engine/verify.js').verifyAudit>>;
type Anchored = Awaited<ReturnType<typeof import('../../audit/checkpoints.js').verifyCheckpoints>>;

function printVerification(report: AuditReport, anchored: Anchored | undefined, ok: boolean): void {
  if (report.problems.length > 0)
    printTable(
      ['vendor', 'seq', 'problem'],
      report.problems.map((p) => [p.vendorId, p.seq, p.problem]),
    );
  if (anchored && anchored.problems.length > 0) {
    printTable(
      ['checkpoint line', 'vendor', 'seq', 'problem'],
      anchored.problems.map((p) => [p.line, p.vendorId ?? '', p.seq ?? '', p.problem]),
    );
  }
  const anchoredText = anchored
    ? `; ${anchored.headsChecked} head(s) in ${anchored.checkpoints} signed checkpoint(s) ${anchored.problems.length === 0 ? 'match' : 'do NOT match'}`
    : '';
  const line = ok
    ? chalk.green(`audit log intact: ${report.rowsChecked} rows in ${report.chains} chain(s)${anchoredText}`)
    : chalk.red(`audit log tampered: ${report.problems.length + (anchored?.problems.length ?? 0)} problem(s)${anchoredText}`);
  process.stdout.write(`${line}\n`);
}
