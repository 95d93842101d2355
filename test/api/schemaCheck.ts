// A small JSON Schema checker for the subset our OpenAPI document uses
// (type, enum, required, properties, additionalProperties: false, items,
// minimum, maximum, maxLength, $ref). Returns every violation with its path.

type Schema = Record<string, any>;

export function resolveRef(root: Schema, ref: string): Schema {
  if (!ref.startsWith('#/')) throw new Error(`unsupported $ref ${ref}`);
  return ref
    .slice(2)
    .split('/')
    .reduce((node: any, key) => {
      if (!(key in node)) throw new Error(`dangling $ref ${ref}`);
      return node[key];
    }, root);
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

export function schemaViolations(root: Schema, schema: Schema, value: unknown, path = '$'): string[] {
  if (schema.$ref) return schemaViolations(root, resolveRef(root, schema.$ref), value, path);
  const problems: string[] = [];
  if (schema.type) {
    const allowed: string[] = Array.isArray(schema.type) ? schema.type : [schema.type];
    const actual = typeOf(value);
    const ok = allowed.includes(actual) || (actual === 'integer' && allowed.includes('number'));
    if (!ok) return [`${path}: expected ${allowed.join('|')}, got ${actual}`];
  }
  if (schema.enum && !schema.enum.includes(value)) problems.push(`${path}: ${JSON.stringify(value)} not in ${JSON.stringify(schema.enum)}`);
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) problems.push(`${path}: below ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) problems.push(`${path}: above ${schema.maximum}`);
  }
  if (typeof value === 'string' && schema.format === 'date-time' && Number.isNaN(Date.parse(value))) problems.push(`${path}: not a date-time`);
  if (typeOf(value) === 'object') {
    const record = value as Record<string, unknown>;
    for (const field of schema.required ?? []) if (!(field in record)) problems.push(`${path}.${field}: required but missing`);
    for (const [field, fieldValue] of Object.entries(record)) {
      const fieldSchema = schema.properties?.[field];
      if (fieldSchema) problems.push(...schemaViolations(root, fieldSchema, fieldValue, `${path}.${field}`));
      else if (schema.additionalProperties === false) problems.push(`${path}.${field}: not in the document`);
    }
  }
  if (Array.isArray(value) && schema.items)
    for (const [index, item] of value.entries()) problems.push(...schemaViolations(root, schema.items, item, `${path}[${index}]`));
  return problems;
}
