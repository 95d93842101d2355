// Strict JSON for every body that enters over HTTP (partner requests and the
// payment provider's events): what PostgreSQL or the engine cannot take is
// refused here, as a VALIDATION_ERROR naming where it is, before anything is
// parsed further or stored.
//
//   - bytes that are not UTF-8 (decoding would silently replace them)
//   - nesting deeper than JSON_DEPTH_MAX (deep values overflow the stack of
//     every recursive consumer after the parser: JSON.stringify, jsonb, Ajv)
//   - NUL characters and lone surrogates, in keys or strings (jsonb and text
//     columns refuse both, with a database message and a 500)
//   - "__proto__" keys (an object that changes its prototype when copied)

import { validationError } from '../errors.js';

/** Deepest nesting of objects and arrays accepted in a body. */
export const JSON_DEPTH_MAX = 32;

const UTF8 = new TextDecoder('utf-8', { fatal: true });
// A high surrogate not followed by a low one, or a low one without a high one before it.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Decodes and parses `raw`, refusing everything listed above; `where` names the body in errors. */
export function parseStrictJson(raw: Buffer, where = 'body'): unknown {
  let text: string;
  try {
    text = UTF8.decode(raw);
  } catch {
    throw validationError(where, 'not valid UTF-8');
  }
  if (text.trim().length === 0) throw validationError(where, 'empty: send a JSON object');
  refuseDeepNesting(text, where);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw validationError(where, 'not valid JSON');
  }
  refuseUnstorableText(parsed, where);
  return parsed;
}

/** Counts brackets outside strings, without recursion, so depth is judged before parsing. */
export function refuseDeepNesting(text: string, where: string): void {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const char = text.charCodeAt(index);
    if (inString) {
      if (char === 0x5c)
        index++; // backslash: skip the escaped character
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) inString = true;
    else if (char === 0x7b || char === 0x5b) {
      depth++;
      if (depth > JSON_DEPTH_MAX) throw validationError(where, `nested deeper than ${JSON_DEPTH_MAX} levels`);
    } else if (char === 0x7d || char === 0x5d) depth--;
  }
}

function textProblem(value: string): string | null {
  if (value.includes('\u0000')) return 'contains a NUL character';
  if (LONE_SURROGATE.test(value)) return 'contains invalid Unicode (a lone surrogate)';
  return null;
}

/** Walks a parsed value (depth already bounded) and refuses NUL, lone surrogates and "__proto__" keys. */
export function refuseUnstorableText(value: unknown, path: string): void {
  if (typeof value === 'string') {
    const problem = textProblem(value);
    if (problem) throw validationError(path, problem);
    return;
  }
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) refuseUnstorableText(item, `${path}[${index}]`);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const [key, item] of Object.entries(value)) {
    if (key === '__proto__') throw validationError(path, 'a key is "__proto__"');
    const keyProblem = textProblem(key);
    if (keyProblem) throw validationError(path, `a key ${keyProblem}`);
    refuseUnstorableText(item, path === 'body' ? key : `${path}.${key}`);
  }
}
