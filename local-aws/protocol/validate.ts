import { NormalizedSchema } from '@smithy/core/schema';
import { dictionary, toDictionaries } from '../dictionary';

/**
 * Checks a request against the operation's input shape as the AWS SDK itself
 * models it (the `<Op>$` schemas `@aws-sdk/client-*` export): required members
 * present, and every member of the right JSON kind. Problems are worded as AWS's
 * Coral validation does: "Value null at 'tableInput.name' failed to satisfy
 * constraint: Member must not be null". What the model does not name is dropped,
 * as AWS ignores unknown members, so only modelled members are ever stored.
 */

/**
 * Deeper than any AWS shape these services take (a TableInput is about 6 levels):
 * a body nested deeper is refused before anything walks it recursively.
 */
export const MAX_NESTING_DEPTH = 64;

/** The nesting depth of a parsed JSON value, counted without recursion and given up past `limit`. */
export function nestingDepth(value: unknown, limit = MAX_NESTING_DEPTH): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [node, depth] = pending.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    const level = depth + 1;
    deepest = Math.max(deepest, level);
    if (deepest > limit) return deepest;
    for (const child of Object.values(node)) pending.push([child, level]);
  }
  return deepest;
}

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

/** Checks the value against its shape; returns it with only the members the shape has. */
function check(schema: NormalizedSchema, value: unknown, at: string, problems: string[]): unknown {
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
    const shown = JSON.stringify(value)?.slice(0, 200);
    problems.push(`Value ${shown} at '${at}' failed to satisfy constraint: Member must be a ${kind}`);
    return undefined;
  }
  if (kind === 'structure') {
    const required = requiredMembers(schema);
    const fields = value as Record<string, unknown>;
    const kept = dictionary<unknown>();
    for (const [name, member] of schema.structIterator()) {
      const path = at ? `${at}.${lowerFirst(name)}` : lowerFirst(name);
      const field = Object.hasOwn(fields, name) ? fields[name] : undefined;
      if (field === undefined || field === null) {
        if (required.has(name))
          problems.push(`Value null at '${path}' failed to satisfy constraint: Member must not be null`);
      } else {
        kept[name] = check(member, field, path, problems);
      }
    }
    return kept;
  }
  if (kind === 'list') {
    const item = schema.getValueSchema();
    return (value as unknown[]).map((element, index) => check(item, element, `${at}.${index + 1}.member`, problems));
  }
  if (kind === 'map') {
    const item = schema.getValueSchema();
    return dictionary(
      Object.entries(value as Record<string, unknown>).map(([key, element]) => [
        key,
        check(item, element, `${at}.${key}`, problems),
      ]),
    );
  }
  return kind === 'document' ? toDictionaries(value) : value;
}

/** The operation's input schema from the SDK module's exports, or undefined when the SDK has no such operation. */
export function inputSchema(sdk: Record<string, unknown>, operation: string): NormalizedSchema | undefined {
  const raw = sdk[`${operation}$`];
  if (!Array.isArray(raw) || raw[0] !== 9) return undefined;
  return NormalizedSchema.of(raw[4] as Parameters<typeof NormalizedSchema.of>[0]);
}

/** The validation problems of a request body (none when valid), and the body with only its modelled members. */
export function validateInput(schema: NormalizedSchema, input: unknown): { problems: string[]; value: unknown } {
  const problems: string[] = [];
  const value = check(schema, input, '', problems);
  return { problems, value };
}

export function validationMessage(problems: string[]): string {
  return `${problems.length} validation error${problems.length === 1 ? '' : 's'} detected: ${problems.join('; ')}`;
}
