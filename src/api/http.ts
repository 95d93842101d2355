// Helpers of the partner API's handlers, for input that passed the routes'
// schemas: the handlers check again, so that they stay safe when called
// without the HTTP edge in front of them.

import { validationError } from '../errors.js';

/** Refuses fields the endpoint does not know: a misspelt field silently ignored would change what the caller meant. */
export function refuseUnknownFields(record: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const field of Object.keys(record)) {
    if (!allowed.includes(field)) throw validationError(where ? `${where}.${field}` : field, `unknown field (allowed: ${allowed.join(', ')})`);
  }
}

export function requireField(record: Record<string, unknown>, field: string): unknown {
  const value = record[field];
  if (value === undefined || value === null) throw validationError(field, 'is required');
  return value;
}
