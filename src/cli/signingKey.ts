// The Ed25519 key that signs certifications and audit checkpoints: the one
// named with --key, or BOOKIJI_HOME/keys/bookiji-signing.key, generated on
// first use (and its public half announced, so it can be published).

import type { KeyObject } from 'node:crypto';
import { note } from './output.js';

/** The private key to sign with: the one given, or the default one, generated on first use as certify does. */
export async function signingKey(keyPath: string | undefined): Promise<KeyObject> {
  const { existsSync } = await import('node:fs');
  const { defaultPrivateKeyPath, defaultKeyDir } = await import('../certify/keyLocation.js');
  const { generateKeyPair, loadPrivateKey } = await import('../certify/signing/index.js');
  const resolved = keyPath ?? defaultPrivateKeyPath();
  if (!keyPath && !existsSync(resolved)) {
    const pair = generateKeyPair(defaultKeyDir());
    note(`no signing key yet: generated ${pair.privateKeyPath} (key id ${pair.keyId}); publish ${pair.publicKeyPath}`);
  }
  return loadPrivateKey(resolved);
}
