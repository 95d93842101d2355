// Where the signing key lives by default: BOOKIJI_HOME/keys (./.bookiji/keys).

import path from 'node:path';
import { bookijiHome } from '../db/database.js';
import { PRIVATE_KEY_FILE, PUBLIC_KEY_FILE } from './signing/index.js';

export function defaultKeyDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(bookijiHome(env), 'keys');
}

export function defaultPrivateKeyPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(defaultKeyDir(env), PRIVATE_KEY_FILE);
}

export function defaultPublicKeyPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(defaultKeyDir(env), PUBLIC_KEY_FILE);
}

/** The public half kept beside a private key file. */
export function publicKeyBeside(privateKeyPath: string): string {
  return path.join(path.dirname(privateKeyPath), PUBLIC_KEY_FILE);
}
