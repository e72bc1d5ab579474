import { NormalizedSchema } from '@smithy/core/schema';

/**
 * Checks a request against the operation's input shape as the AWS SDK itself
 * models it (the `<Op>$` schemas `@aws-sdk/client-*` export): required members
 * present, and every member of the right JSON kind. Problems are worded as AWS's
 * Coral validation does: "Value null at 'tableInput.name' failed to satisfy
 * constraint: Member must not be null".
 */

type StaticStruct = [number, string, string, unknown, string[], unknown[], number?];

const lowerFirst = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);

/** The members a structure requires: static schemas list them first and give their count last. */
function requiredMembers(schema: NormalizedSchema): Set<string> {
  const raw = schema.getSchema() as unknown;
  if (!Array.isArray(raw)) return new Set();
  const [, , , , names, , count] = raw as StaticStruct;
  return new Set((names ?? []).slice(0, count ?? 0));
}

function kindOf(schema: NormalizedSchema): string {
  if (schema.isStructSchema() || schema.isUnionSchema()) return 'structure';
  if (schema.isListSchema()) return 'list';
  if (schema.isMapSchema()) return 'map';
  if (schema.isBooleanSchema()) return 'boolean';
  if (schema.isNumericSchema() || schema.isBigIntegerSchema() || schema.isBigDecimalSchema()) return 'number';
  if (schema.isTimestampSchema()) return 'timestamp';
  if (schema.isDocumentSchema()) return 'document';
  return 'string';
}

function check(schema: NormalizedSchema, value: unknown, at: string, problems: string[]): void {
  const kind = kindOf(schema);
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
  const fits =
    kind === 'document' ||
    (kind === 'structure' && isObject) ||
    (kind === 'map' && isObject) ||
    (kind === 'list' && Array.isArray(value)) ||
    (kind === 'boolean' && typeof value === 'boolean') ||
    (kind === 'number' && typeof value === 'number' && Number.isFinite(value)) ||
    (kind === 'timestamp' && (typeof value === 'number' || typeof value === 'string')) ||
    (kind === 'string' && typeof value === 'string');
  if (!fits) {
    problems.push(`Value ${JSON.stringify(value)} at '${at}' failed to satisfy constraint: Member must be a ${kind}`);
    return;
  }
  if (kind === 'structure') {
    const required = requiredMembers(schema);
    const fields = value as Record<string, unknown>;
    for (const [name, member] of schema.structIterator()) {
      const path = at ? `${at}.${lowerFirst(name)}` : lowerFirst(name);
      const field = fields[name];
      if (field === undefined || field === null) {
        if (required.has(name))
          problems.push(`Value null at '${path}' failed to satisfy constraint: Member must not be null`);
      } else {
        check(member, field, path, problems);
      }
    }
  } else if (kind === 'list') {
    const item = schema.getValueSchema();
    (value as unknown[]).forEach((element, index) => check(item, element, `${at}.${index + 1}.member`, problems));
  } else if (kind === 'map') {
    const item = schema.getValueSchema();
    for (const [key, element] of Object.entries(value as Record<string, unknown>)) {
      check(item, element, `${at}.${key}`, problems);
    }
  }
}

/** The operation's input schema from the SDK module's exports, or undefined when the SDK has no such operation. */
export function inputSchema(sdk: Record<string, unknown>, operation: string): NormalizedSchema | undefined {
  const raw = sdk[`${operation}$`];
  if (!Array.isArray(raw) || raw[0] !== 9) return undefined;
  return NormalizedSchema.of(raw[4] as Parameters<typeof NormalizedSchema.of>[0]);
}

/** The validation problems of a request body (empty when valid). */
export function validateInput(schema: NormalizedSchema, input: unknown): string[] {
  const problems: string[] = [];
  check(schema, input, '', problems);
  return problems;
}

export function validationMessage(problems: string[]): string {
  return `${problems.length} validation error${problems.length === 1 ? '' : 's'} detected: ${problems.join('; ')}`;
}
