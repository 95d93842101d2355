// Partners and their API keys. A key is shown once, when it is made; only its
// SHA-256 is stored. Keys look like `bk_<prefix>_<secret>`: the prefix is
// public (listings show it), the secret is 32 random bytes.

import { createHash, randomBytes } from 'node:crypto';
import { BookijiError, validationError } from '../errors.js';
import { queryWithRetry, withTransaction, type Pool } from '../db/pool.js';
import { requireText, requireUuid } from '../engine/validate.js';

export interface Partner {
  id: string;
  name: string;
  webhookUrl: string | null;
}

export interface ApiKeyInfo {
  id: string;
  partnerId: string;
  partnerName: string;
  prefix: string;
  createdAt: Date;
  revokedAt: Date | null;
}

export interface CreatedApiKey extends ApiKeyInfo {
  /** The full key: shown once, never stored. */
  key: string;
  /** The HMAC secret partners use to check our webhooks' signatures. */
  webhookSecret: string;
}

/** Who a request comes from, once its key checked out. */
export interface AuthenticatedPartner {
  keyId: string;
  partnerId: string;
  partnerName: string;
}

const KEY_PATTERN = /^bk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

function newKey(): { key: string; prefix: string } {
  const prefix = randomBytes(6).toString('hex');
  return { key: `bk_${prefix}_${randomBytes(32).toString('base64url')}`, prefix };
}

function requireWebhookUrl(value: unknown): string {
  const text = requireText('webhook-url', value, 2000);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw validationError('webhook-url', `not a URL: ${JSON.stringify(text)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw validationError('webhook-url', 'must be an http or https URL');
  return url.toString();
}

/** Creates the partner if new (or updates its webhook URL), then a key for it. */
export async function createApiKey(pool: Pool, input: { partner: unknown; webhookUrl?: unknown }): Promise<CreatedApiKey> {
  const name = requireText('partner', input.partner, 200);
  const webhookUrl = input.webhookUrl === undefined ? null : requireWebhookUrl(input.webhookUrl);
  return withTransaction(pool, async (client) => {
    const partner = await client.query(
      `INSERT INTO partners (name, webhook_url, webhook_secret) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE SET webhook_url = coalesce(EXCLUDED.webhook_url, partners.webhook_url)
       RETURNING id, name, webhook_secret`,
      [name, webhookUrl, randomBytes(32).toString('hex')],
    );
    const row = partner.rows[0]!;
    const { key, prefix } = newKey();
    const inserted = await client.query('INSERT INTO api_keys (partner_id, prefix, key_hash) VALUES ($1, $2, $3) RETURNING id, created_at', [
      row.id,
      prefix,
      hashApiKey(key),
    ]);
    const keyRow = inserted.rows[0]!;
    return {
      id: keyRow.id,
      partnerId: row.id,
      partnerName: row.name,
      prefix,
      createdAt: keyRow.created_at,
      revokedAt: null,
      key,
      webhookSecret: row.webhook_secret,
    };
  });
}

export async function listApiKeys(pool: Pool, options: { partner?: string } = {}): Promise<ApiKeyInfo[]> {
  const result = await queryWithRetry(
    pool,
    `SELECT k.id, k.partner_id, p.name, k.prefix, k.created_at, k.revoked_at FROM api_keys k JOIN partners p ON p.id = k.partner_id
     WHERE ($1::text IS NULL OR p.name = $1) ORDER BY p.name, k.created_at, k.id`,
    [options.partner ?? null],
  );
  return result.rows.map((row) => ({
    id: row.id,
    partnerId: row.partner_id,
    partnerName: row.name,
    prefix: row.prefix,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  }));
}

/** Revokes a key by id or prefix; revoking twice is refused so a typo is noticed. */
export async function revokeApiKey(pool: Pool, idOrPrefix: unknown): Promise<ApiKeyInfo> {
  const ref = requireKeyRef(idOrPrefix);
  const result = await queryWithRetry(
    pool,
    `UPDATE api_keys k SET revoked_at = now() FROM partners p
     WHERE p.id = k.partner_id AND (k.id::text = $1 OR k.prefix = $1) AND k.revoked_at IS NULL
     RETURNING k.id, k.partner_id, p.name, k.prefix, k.created_at, k.revoked_at`,
    [ref],
  );
  const row = result.rows[0];
  if (!row)
    throw new BookijiError('VALIDATION_ERROR', `key: no active API key with id or prefix ${ref}`, {
      details: { field: 'key' },
      hint: 'See `bookiji apikey list`.',
    });
  return { id: row.id, partnerId: row.partner_id, partnerName: row.name, prefix: row.prefix, createdAt: row.created_at, revokedAt: row.revoked_at };
}

/** Makes a new key for the same partner and revokes the old one, in one transaction. */
export async function rotateApiKey(pool: Pool, idOrPrefix: unknown): Promise<CreatedApiKey & { replaced: string }> {
  const ref = requireKeyRef(idOrPrefix);
  return withTransaction(pool, async (client) => {
    const old = await client.query(
      `SELECT k.id, k.partner_id, p.name, p.webhook_secret FROM api_keys k JOIN partners p ON p.id = k.partner_id
       WHERE (k.id::text = $1 OR k.prefix = $1) AND k.revoked_at IS NULL FOR UPDATE OF k`,
      [ref],
    );
    const row = old.rows[0];
    if (!row)
      throw new BookijiError('VALIDATION_ERROR', `key: no active API key with id or prefix ${ref}`, {
        details: { field: 'key' },
        hint: 'See `bookiji apikey list`.',
      });
    const { key, prefix } = newKey();
    const inserted = await client.query('INSERT INTO api_keys (partner_id, prefix, key_hash) VALUES ($1, $2, $3) RETURNING id, created_at', [
      row.partner_id,
      prefix,
      hashApiKey(key),
    ]);
    const created = inserted.rows[0]!;
    await client.query('UPDATE api_keys SET revoked_at = now(), rotated_to = $2 WHERE id = $1', [row.id, created.id]);
    return {
      id: created.id,
      partnerId: row.partner_id,
      partnerName: row.name,
      prefix,
      createdAt: created.created_at,
      revokedAt: null,
      key,
      webhookSecret: row.webhook_secret,
      replaced: row.id,
    };
  });
}

function requireKeyRef(value: unknown): string {
  if (typeof value === 'string' && /^[0-9a-f]{12}$/.test(value)) return value;
  return requireUuid('key', value);
}

/** Checks a presented key. Unknown and revoked keys are both 401, with different messages. */
export async function authenticateApiKey(pool: Pool, presented: string | undefined): Promise<AuthenticatedPartner> {
  if (!presented) throw new BookijiError('UNAUTHORIZED', 'missing API key: send "Authorization: Bearer <key>"');
  if (!KEY_PATTERN.test(presented)) throw new BookijiError('UNAUTHORIZED', 'malformed API key');
  const result = await queryWithRetry(
    pool,
    'SELECT k.id, k.partner_id, k.revoked_at, p.name FROM api_keys k JOIN partners p ON p.id = k.partner_id WHERE k.key_hash = $1',
    [hashApiKey(presented)],
  );
  const row = result.rows[0];
  if (!row) throw new BookijiError('UNAUTHORIZED', 'unknown API key');
  if (row.revoked_at) throw new BookijiError('UNAUTHORIZED', 'this API key was revoked', { hint: 'Ask the operator for a new key (`bookiji apikey rotate`).' });
  return { keyId: row.id, partnerId: row.partner_id, partnerName: row.name };
}
