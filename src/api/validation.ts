// Request validation with the routes' JSON schemas (Ajv), and the mapping of
// its findings to VALIDATION_ERROR naming the field, as the API answered
// before it had schemas.
//
// Input is judged as sent, never coerced: "5" is not 5 in a body, a query
// parameter is text and its schema says which text (digits, true|false), and
// a misspelt field is refused, never dropped.

import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv';
import { BookijiError, validationError } from '../errors.js';
// The engine's own shapes, so that schema and engine agree on what an id and a time are.
import { ISO_PATTERN, UUID_PATTERN } from '../engine/validate.js';

const Ajv = AjvModule.default;

const FORMAT_PROBLEMS: Record<string, string> = {
  uuid: 'expected an id (a UUID)',
  'date-time': 'expected an ISO 8601 time with a zone, like 2030-01-31T09:00:00Z',
};

const ajv = new Ajv({ allErrors: false, removeAdditional: false, useDefaults: false, coerceTypes: false, strict: false, verbose: true });
ajv.addFormat('uuid', UUID_PATTERN);
ajv.addFormat('date-time', ISO_PATTERN);

type HttpPart = 'body' | 'querystring' | 'params' | 'headers';

/** Fastify's validatorCompiler: a validator per route and part, answering a BookijiError on failure. */
export function compileValidator({ schema, httpPart }: { schema: object; httpPart?: string }): (data: unknown) => { value?: unknown; error?: Error } {
  const part = (httpPart ?? 'body') as HttpPart;
  const validate: ValidateFunction = ajv.compile(schema);
  return (data) => (validate(data) ? { value: data } : { error: toValidationError(validate.errors ?? [], part) });
}

const PART_NAMES: Record<HttpPart, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'headers' };

function joinField(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

function allowedNames(error: ErrorObject): string {
  const properties = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {});
  return properties.length ? ` (allowed: ${properties.join(', ')})` : '';
}

/**
 * A checker of one document (not a request part) against a schema, for
 * bodies read outside the router (the payment provider's events): refusals
 * name fields under `root`, like "event.livemode".
 */
export function documentChecker(schema: object, root: string): (data: unknown) => void {
  const validate = ajv.compile(schema);
  return (data) => {
    if (!validate(data)) throw toValidationError(validate.errors ?? [], 'body', root);
  };
}

/** The first schema violation as the API words it: the field, and what is wrong with it. */
export function toValidationError(errors: ErrorObject[], part: HttpPart, root = ''): BookijiError {
  const first = errors[0];
  if (!first) return validationError(root || PART_NAMES[part], 'invalid');
  const path = [root, ...first.instancePath.split('/').slice(1)]
    .filter((segment) => segment !== '')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
  const params = first.params as Record<string, unknown>;
  const unknownWhat = part === 'querystring' ? 'unknown query parameter' : 'unknown field';
  if (first.keyword === 'additionalProperties')
    return validationError(joinField(path, String(params.additionalProperty)), `${unknownWhat}${allowedNames(first)}`);
  if (first.keyword === 'required') return validationError(joinField(path, String(params.missingProperty)), 'is required');
  const field = path || PART_NAMES[part];
  if (Array.isArray(first.data) && part === 'querystring') return validationError(field, 'given more than once');
  if (path === root && first.keyword === 'type') return validationError(field, part === 'body' ? 'must be a JSON object' : `must be ${String(params.type)}`);
  if (first.keyword === 'format')
    return validationError(field, `${FORMAT_PROBLEMS[String(params.format)] ?? `expected ${String(params.format)}`}, got ${JSON.stringify(first.data)}`);
  if (first.keyword === 'maxLength' && typeof first.data === 'string')
    return validationError(field, `at most ${String(params.limit)} characters (got ${first.data.length})`);
  return validationError(field, first.message ?? 'invalid');
}
