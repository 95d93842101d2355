// bookiji keys generate: the Ed25519 key pair certifications are signed with.

import type { Command } from 'commander';
import { printJson, success } from '../output.js';

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('The Ed25519 signing key pair of certifications.');
  keys
    .command('generate')
    .description(
      'Write a new key pair (PKCS#8 private key, mode 0600, and SPKI public key) under BOOKIJI_HOME/keys or --dir. Refuses to replace an existing key unless --force.',
    )
    .option('--dir <dir>', 'where to write the pair (default: BOOKIJI_HOME/keys, i.e. ./.bookiji/keys)')
    .option('--force', 'replace an existing key pair (certifications signed with the old key stay verifiable only with the old public key)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  bookiji keys generate && bookiji certify --profile quick\n  bookiji keys generate --dir ./release-keys --json\n')
    .action(async (options: { dir?: string; force?: boolean; json?: boolean }) => {
      const { defaultKeyDir } = await import('../../certify/keyLocation.js');
      const { generateKeyPair } = await import('../../certify/signing/index.js');
      const pair = generateKeyPair(options.dir ?? defaultKeyDir(), { force: options.force === true });
      if (options.json) printJson(pair);
      else {
        success(`key pair written; key id ${pair.keyId}`);
        process.stdout.write(
          `private key: ${pair.privateKeyPath} (keep it secret)\npublic key:  ${pair.publicKeyPath} (publish it with your certifications)\n`,
        );
      }
    });
}
