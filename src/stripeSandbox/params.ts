// Stripe's request parameters: `application/x-www-form-urlencoded` bodies (and
// query strings for GET) with bracketed keys, exactly as the SDK encodes them:
// `metadata[order]=42`, `expand[0]=latest_charge`, `created[gte]=1700000000`.
// `parseForm` turns them into nested objects and arrays; `Params` reads typed
// values and answers invalid or unknown parameters with Stripe's error JSON.

import { errors } from './stripeErrors.js';

export type FormValue = string | FormValue[] | { [key: string]: FormValue };
export type FormObject = { [key: string]: FormValue };

function splitKey(key: string): string[] {
  const first = key.indexOf('[');
  if (first <= 0) return [key];
  const parts = [key.slice(0, first)];
  const re = /\[([^\]]*)\]/g;
  const rest = key.slice(first);
  let consumed = 0;
  for (let m = re.exec(rest); m !== null; m = re.exec(rest)) {
    if (m.index !== consumed) return [key];
    parts.push(m[1]!);
    consumed = m.index + m[0].length;
  }
  return consumed === rest.length ? parts : [key];
}

function isIndex(key: string): boolean {
  return key === '' || /^\d+$/.test(key);
}

/** Parses a form-encoded string (body or query) into nested objects/arrays. */
export function parseForm(input: string): FormObject {
  const root: FormObject = {};
  const params = new URLSearchParams(input);
  for (const [rawKey, value] of params) {
    const path = splitKey(rawKey);
    let node: { [key: string]: FormValue } = root;
    for (let i = 0; i < path.length; i++) {
      let part = path[i]!;
      const last = i === path.length - 1;
      if (part === '') part = String(Object.keys(node).length); // `a[]=x` appends
      if (last) {
        node[part] = value;
      } else {
        const next = node[part];
        if (typeof next !== 'object' || next === null || Array.isArray(next)) {
          node[part] = {};
        }
        node = node[part] as { [key: string]: FormValue };
      }
    }
  }
  return arrayify(root) as FormObject;
}

// Objects whose keys are all indexes (`expand[0]`, `types[]`) become arrays.
function arrayify(value: FormValue): FormValue {
  if (typeof value === 'string' || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  const converted: { [key: string]: FormValue } = {};
  for (const k of keys) converted[k] = arrayify(value[k]!);
  if (keys.length > 0 && keys.every(isIndex)) {
    return keys
      .map((k) => [Number(k), converted[k]!] as const)
      .sort((a, b) => a[0] - b[0])
      .map(([, v]) => v);
  }
  return converted;
}

/** Canonical JSON of parameters (keys sorted), for idempotency fingerprints. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`)
    .join(',')}}`;
}

export interface RangeFilter {
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
}

export class Params {
  constructor(readonly raw: FormObject) {}

  /** Rejects any top-level parameter not in `allowed` (`expand` is always allowed). */
  allow(allowed: readonly string[]): this {
    for (const key of Object.keys(this.raw)) {
      if (key !== 'expand' && !allowed.includes(key)) throw errors.parameterUnknown(key);
    }
    return this;
  }

  has(name: string): boolean {
    return this.raw[name] !== undefined;
  }

  string(name: string, opts: { required?: boolean } = {}): string | undefined {
    const v = this.raw[name];
    if (v === undefined) {
      if (opts.required) throw errors.parameterMissing(name);
      return undefined;
    }
    if (typeof v !== 'string') throw errors.parameterInvalid(name, `Invalid string: ${name} must be a string.`);
    if (opts.required && v === '') throw errors.parameterMissing(name);
    return v;
  }

  /** A string that may be sent empty to unset the field (`description=`). */
  nullableString(name: string): string | null | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    return v === '' ? null : v;
  }

  integer(name: string, opts: { required?: boolean; min?: number; max?: number } = {}): number | undefined {
    const v = this.string(name, { required: opts.required });
    if (v === undefined) return undefined;
    if (!/^-?\d+$/.test(v)) throw errors.parameterInvalid(name, `Invalid integer: ${v}`, 'parameter_invalid_integer');
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw errors.parameterInvalid(name, `Invalid integer: ${v}`, 'parameter_invalid_integer');
    if (opts.min !== undefined && n < opts.min) {
      throw errors.parameterInvalid(name, `This value must be greater than or equal to ${opts.min}.`, 'parameter_invalid_integer');
    }
    if (opts.max !== undefined && n > opts.max) {
      throw errors.parameterInvalid(name, `This value must be less than or equal to ${opts.max}.`, 'parameter_invalid_integer');
    }
    return n;
  }

  boolean(name: string): boolean | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (v === 'true') return true;
    if (v === 'false') return false;
    throw errors.parameterInvalid(name, `Invalid boolean: ${v}`);
  }

  enumeration<T extends string>(name: string, values: readonly T[], opts: { required?: boolean } = {}): T | undefined {
    const v = this.string(name, opts);
    if (v === undefined) return undefined;
    if (!(values as readonly string[]).includes(v)) {
      throw errors.parameterInvalid(name, `Invalid ${name}: must be one of ${values.join(', ')}`);
    }
    return v as T;
  }

  object(name: string, allowedKeys: readonly string[]): FormObject | undefined {
    const v = this.raw[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) {
      throw errors.parameterInvalid(name, `Invalid object: ${name} must be a hash.`);
    }
    for (const key of Object.keys(v)) {
      if (!allowedKeys.includes(key)) throw errors.parameterUnknown(`${name}[${key}]`);
    }
    return v;
  }

  stringArray(name: string): string[] | undefined {
    const v = this.raw[name];
    if (v === undefined) return undefined;
    const arr = Array.isArray(v) ? v : [v];
    return arr.map((item) => {
      if (typeof item !== 'string') throw errors.parameterInvalid(name, `Invalid array: ${name} must be an array of strings.`);
      return item;
    });
  }

  expand(): string[] {
    return this.stringArray('expand') ?? [];
  }

  /**
   * Stripe's metadata rules: up to 50 keys, keys up to 40 characters, values
   * up to 500; an empty value unsets the key and `metadata=` unsets them all.
   * Returns the patch to merge (`null` = delete) or 'clear'.
   */
  metadata(): Record<string, string | null> | 'clear' | undefined {
    const v = this.raw['metadata'];
    if (v === undefined) return undefined;
    if (v === '') return 'clear';
    if (typeof v !== 'object' || Array.isArray(v)) {
      throw errors.parameterInvalid('metadata', 'Invalid metadata: metadata must be a hash of string keys to string values.');
    }
    const patch: Record<string, string | null> = {};
    for (const [key, value] of Object.entries(v)) {
      if (typeof value !== 'string') {
        throw errors.parameterInvalid(`metadata[${key}]`, 'Invalid metadata: values must be strings.');
      }
      if (key.length > 40) {
        throw errors.parameterInvalid(`metadata[${key}]`, 'Metadata keys can have up to 40 characters.');
      }
      if (value.length > 500) {
        throw errors.parameterInvalid(`metadata[${key}]`, 'Metadata values can have up to 500 characters.');
      }
      patch[key] = value === '' ? null : value;
    }
    return patch;
  }

  /** `created=123` or `created[gte]=123` (also gt, lt, lte). */
  range(name: string): RangeFilter | undefined {
    const v = this.raw[name];
    if (v === undefined) return undefined;
    const toInt = (s: FormValue | undefined, key: string): number | undefined => {
      if (s === undefined) return undefined;
      if (typeof s !== 'string' || !/^\d+$/.test(s)) {
        throw errors.parameterInvalid(key, `Invalid integer: ${String(s)}`, 'parameter_invalid_integer');
      }
      return Number(s);
    };
    if (typeof v === 'string') {
      const n = toInt(v, name)!;
      return { gte: n, lte: n };
    }
    if (Array.isArray(v)) throw errors.parameterInvalid(name, `Invalid ${name}: must be an integer or a hash.`);
    for (const key of Object.keys(v)) {
      if (!['gt', 'gte', 'lt', 'lte'].includes(key)) throw errors.parameterUnknown(`${name}[${key}]`);
    }
    const out: RangeFilter = {};
    const gt = toInt(v['gt'], `${name}[gt]`);
    const gte = toInt(v['gte'], `${name}[gte]`);
    const lt = toInt(v['lt'], `${name}[lt]`);
    const lte = toInt(v['lte'], `${name}[lte]`);
    if (gt !== undefined) out.gt = gt;
    if (gte !== undefined) out.gte = gte;
    if (lt !== undefined) out.lt = lt;
    if (lte !== undefined) out.lte = lte;
    return out;
  }
}

export function inRange(value: number, range: RangeFilter | undefined): boolean {
  if (!range) return true;
  if (range.gt !== undefined && !(value > range.gt)) return false;
  if (range.gte !== undefined && !(value >= range.gte)) return false;
  if (range.lt !== undefined && !(value < range.lt)) return false;
  if (range.lte !== undefined && !(value <= range.lte)) return false;
  return true;
}

export function applyMetadata(current: Record<string, string>, patch: Record<string, string | null> | 'clear' | undefined): Record<string, string> {
  if (patch === undefined) return current;
  if (patch === 'clear') return {};
  const next = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete next[k];
    else next[k] = v;
  }
  if (Object.keys(next).length > 50) {
    throw errors.parameterInvalid('metadata', 'You can specify up to 50 keys in metadata.');
  }
  return next;
}
