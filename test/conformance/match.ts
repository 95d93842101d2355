// Expectations as data: a Shape is matched against what the SDK returned.
// A plain value must be equal; an object matches when each listed key
// matches (others are ignored); an array matches element by element (longer
// actual arrays allowed). Markers: { $match: 'regex' }, { $type: 'string' |
// 'number' | 'object' | 'null' }, { $not: value }, { $absent: true }.

export type Shape =
  | string
  | number
  | boolean
  | null
  | Shape[]
  | { $match: string }
  | { $type: 'string' | 'number' | 'object' | 'null' | 'boolean' }
  | { $not: Shape }
  | { $absent: true }
  | { [key: string]: Shape };

function isMarker(shape: object, key: string): boolean {
  return Object.keys(shape).length === 1 && key in shape;
}

function typeOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

/** Differences between `actual` and `shape`, as readable paths; [] when it matches. */
export function mismatches(actual: unknown, shape: Shape, path = '$'): string[] {
  if (shape === null || typeof shape !== 'object') {
    return actual === shape ? [] : [`${path}: expected ${JSON.stringify(shape)}, got ${JSON.stringify(actual)?.slice(0, 200)}`];
  }
  if (Array.isArray(shape)) {
    if (!Array.isArray(actual)) return [`${path}: expected an array, got ${typeOf(actual)}`];
    return shape.flatMap((item, i) => mismatches(actual[i], item, `${path}[${i}]`));
  }
  if (isMarker(shape, '$match')) {
    const re = new RegExp((shape as { $match: string }).$match);
    return typeof actual === 'string' && re.test(actual) ? [] : [`${path}: expected to match /${re.source}/, got ${JSON.stringify(actual)}`];
  }
  if (isMarker(shape, '$type')) {
    const want = (shape as { $type: string }).$type;
    return typeOf(actual) === want ? [] : [`${path}: expected a ${want}, got ${typeOf(actual)}`];
  }
  if (isMarker(shape, '$not')) {
    const other = (shape as { $not: Shape }).$not;
    return mismatches(actual, other, path).length > 0 ? [] : [`${path}: expected anything but ${JSON.stringify(other)}`];
  }
  if (isMarker(shape, '$absent')) {
    return actual === undefined || actual === null ? [] : [`${path}: expected no value, got ${JSON.stringify(actual)?.slice(0, 200)}`];
  }
  if (typeof actual !== 'object' || actual === null) return [`${path}: expected an object, got ${typeOf(actual)}`];
  const record = actual as Record<string, unknown>;
  return Object.entries(shape).flatMap(([key, value]) => mismatches(record[key], value, `${path}.${key}`));
}
