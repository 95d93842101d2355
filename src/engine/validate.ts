// Input validation where input enters (CLI options, HTTP bodies). Each
// failure names the field. The database checks again; this layer exists so
// that a person gets "--start: not an ISO 8601 time" rather than a SQLSTATE.

import { validationError } from '../errors.js';

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Date and time with an explicit offset: a time without a zone is ambiguous.
export const ISO_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/;

export function requireUuid(field: string, value: unknown): string {
  if (typeof value !== 'string' || !UUID_PATTERN.test(value)) throw validationError(field, `expected an id (a UUID), got ${JSON.stringify(value)}`);
  return value.toLowerCase();
}

export function requireIsoTime(field: string, value: unknown): Date {
  if (typeof value !== 'string' || !ISO_PATTERN.test(value)) {
    throw validationError(field, `expected an ISO 8601 time with a zone, like 2030-01-31T09:00:00Z, got ${JSON.stringify(value)}`);
  }
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime())) throw validationError(field, `not a real date: ${value}`);
  return parsed;
}

export function requireInt(field: string, value: unknown, min: number, max: number): number {
  const parsed = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isInteger(parsed) || parsed < min || parsed > max)
    throw validationError(field, `expected a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return parsed;
}

export function requireText(field: string, value: unknown, maxLength: number): string {
  if (typeof value !== 'string' || value.trim().length === 0) throw validationError(field, 'must not be empty');
  if (value.length > maxLength) throw validationError(field, `at most ${maxLength} characters (got ${value.length})`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point of this check.
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(value)) throw validationError(field, 'contains control characters');
  return value.trim();
}

export function requireEmail(field: string, value: unknown): string {
  const text = requireText(field, value, 254);
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(text)) throw validationError(field, `not an email address: ${JSON.stringify(text)}`);
  return text;
}

export function requireTimezone(field: string, value: unknown): string {
  const text = requireText(field, value, 64);
  try {
    new Intl.DateTimeFormat('en', { timeZone: text });
  } catch {
    throw validationError(field, `not an IANA time zone (like Europe/Paris): ${JSON.stringify(text)}`);
  }
  return text;
}

export function requireCurrency(field: string, value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Za-z]{3}$/.test(value))
    throw validationError(field, `expected a 3-letter currency code like EUR, got ${JSON.stringify(value)}`);
  return value.toUpperCase();
}

export function requireOneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw validationError(field, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

export function requireIdempotencyKey(field: string, value: unknown): string {
  const text = requireText(field, value, 200);
  if (!/^[\x21-\x7e]+$/.test(text)) throw validationError(field, 'use printable ASCII without spaces');
  return text;
}
