// Shared set-up for the API tests: a server on a free loopback port over a
// test database, partners with keys, and a small JSON client.

import { createApiKey, type CreatedApiKey } from '../../src/api/apiKeys.js';
import { startApiServer, type ApiServer, type ApiServerOptions, type LogLine } from '../../src/api/server.js';
import type { Pool } from '../../src/db/pool.js';
import { afterAll, beforeAll } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

export interface TestApi {
  server: ApiServer;
  logs: LogLine[];
}

export async function startTestApi(pool: Pool, options: Partial<ApiServerOptions> = {}): Promise<TestApi> {
  const logs: LogLine[] = [];
  const server = await startApiServer({ pool, port: 0, outbox: false, log: (line) => logs.push(line), ...options });
  return { server, logs };
}

export interface ApiTestContext {
  db: TestDatabase;
  api: TestApi;
  /** The server's base URL, like http://127.0.0.1:PORT. */
  url: string;
}

/**
 * A test file's database and API server, started before its tests and
 * stopped after them. The fields are set once beforeAll has run.
 */
export function useTestApi(options: Partial<ApiServerOptions> = {}): ApiTestContext {
  const context = {} as ApiTestContext;
  beforeAll(async () => {
    context.db = await createTestDatabase();
    context.api = await startTestApi(context.db.pool, options);
    context.url = context.api.server.url;
  });
  afterAll(async () => {
    await context.api.server.close();
    await context.db.drop();
  });
  return context;
}

export async function makePartner(pool: Pool, name: string, webhookUrl?: string): Promise<CreatedApiKey> {
  return createApiKey(pool, { partner: `${name}-${Math.random().toString(36).slice(2, 8)}`, ...(webhookUrl ? { webhookUrl } : {}) });
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

export async function call(
  baseUrl: string,
  method: string,
  path: string,
  options: { key?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${baseUrl}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}
