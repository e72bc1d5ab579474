/**
 * IAM policy evaluation for the local services, as AWS evaluates identity
 * policies within one account: an explicit Deny wins, then any Allow, else the
 * request is implicitly denied. It covers the policy grammar TickSync's
 * documents use — Action/NotAction and Resource/NotResource with `*` and `?`
 * wildcards (actions case-insensitive), and the string, ARN, Bool and Null
 * condition operators with `IfExists` and the `ForAnyValue:`/`ForAllValues:`
 * set qualifiers — and refuses anything else rather than guess. (The maintained
 * evaluator, @cloud-copilot/iam-simulate, is AGPL-licensed, which the project
 * does not take.)
 */

export type ConditionBlock = Record<string, Record<string, string | string[] | boolean>>;

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: unknown;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: ConditionBlock;
}

/** A policy document; TickSync's write Statement as a list (AWS also takes a single statement). */
export interface PolicyDocument {
  Version?: string;
  Statement: PolicyStatement[];
}

/** One authorisation question: may the caller do `action` (e.g. `glue:GetTable`) on `resource` (an ARN)? */
export interface AuthorizationRequest {
  action: string;
  resource: string;
  /** Condition keys of the request (`s3:prefix`, `aws:SecureTransport` ...); absent keys are undefined. */
  context?: Record<string, string | string[] | undefined>;
}

export type Decision = 'allowed' | 'explicit-deny' | 'implicit-deny';

const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

const patterns = new Map<string, RegExp>();

/** IAM's wildcards: `*` any run of characters, `?` one character; nothing else is special. */
function wildcard(pattern: string, ignoreCase: boolean): RegExp {
  const cacheKey = `${ignoreCase ? 'i' : 's'}${pattern}`;
  let regex = patterns.get(cacheKey);
  if (!regex) {
    const body = pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    regex = new RegExp(`^${body}$`, ignoreCase ? 'is' : 's');
    patterns.set(cacheKey, regex);
  }
  return regex;
}

const matchesAny = (values: string[], target: string, ignoreCase: boolean) =>
  values.some((pattern) => wildcard(pattern, ignoreCase).test(target));

type Comparison = (expected: string, actual: string) => boolean;

const COMPARISONS: Record<string, { compare: Comparison; negated: boolean }> = {
  StringEquals: { compare: (expected, actual) => expected === actual, negated: false },
  StringNotEquals: { compare: (expected, actual) => expected === actual, negated: true },
  StringEqualsIgnoreCase: {
    compare: (expected, actual) => expected.toLowerCase() === actual.toLowerCase(),
    negated: false,
  },
  StringNotEqualsIgnoreCase: {
    compare: (expected, actual) => expected.toLowerCase() === actual.toLowerCase(),
    negated: true,
  },
  StringLike: { compare: (expected, actual) => wildcard(expected, false).test(actual), negated: false },
  StringNotLike: { compare: (expected, actual) => wildcard(expected, false).test(actual), negated: true },
  ArnEquals: { compare: (expected, actual) => expected === actual, negated: false },
  ArnLike: { compare: (expected, actual) => wildcard(expected, false).test(actual), negated: false },
  ArnNotEquals: { compare: (expected, actual) => expected === actual, negated: true },
  ArnNotLike: { compare: (expected, actual) => wildcard(expected, false).test(actual), negated: true },
  Bool: { compare: (expected, actual) => expected.toLowerCase() === actual.toLowerCase(), negated: false },
};

/** One condition operator over one key: whether the request satisfies it. */
function conditionHolds(
  operator: string,
  key: string,
  expectedValues: string[],
  context: AuthorizationRequest['context'],
): boolean {
  const found = Object.entries(context ?? {}).find(([name]) => name.toLowerCase() === key.toLowerCase())?.[1];
  const actual = list(found);
  if (operator === 'Null') {
    const wantsAbsent = expectedValues.map((value) => value.toLowerCase()).includes('true');
    return wantsAbsent === (actual.length === 0);
  }
  const qualifier = /^(ForAnyValue|ForAllValues):/.exec(operator)?.[1];
  const bare = operator.replace(/^(ForAnyValue|ForAllValues):/, '');
  const ifExists = bare.endsWith('IfExists');
  const name = ifExists ? bare.slice(0, -'IfExists'.length) : bare;
  const comparison = COMPARISONS[name];
  if (!comparison) throw new Error(`condition operator ${operator} is not supported by the local IAM evaluation`);
  if (actual.length === 0) {
    // A missing key satisfies IfExists, a negated operator and ForAllValues; nothing else.
    return ifExists || qualifier === 'ForAllValues' || (comparison.negated && qualifier === undefined);
  }
  const matches = (value: string) => expectedValues.some((expected) => comparison.compare(expected, value));
  const satisfied = (value: string) => (comparison.negated ? !matches(value) : matches(value));
  return qualifier === 'ForAllValues' ? actual.every(satisfied) : actual.some(satisfied);
}

function statementApplies(statement: PolicyStatement, request: AuthorizationRequest): boolean {
  if (statement.Action !== undefined && !matchesAny(list(statement.Action), request.action, true)) return false;
  if (statement.NotAction !== undefined && matchesAny(list(statement.NotAction), request.action, true)) return false;
  if (statement.Resource !== undefined && !matchesAny(list(statement.Resource), request.resource, false)) return false;
  if (statement.NotResource !== undefined && matchesAny(list(statement.NotResource), request.resource, false)) {
    return false;
  }
  for (const [operator, keys] of Object.entries(statement.Condition ?? {})) {
    for (const [key, expected] of Object.entries(keys)) {
      if (!conditionHolds(operator, key, list(expected).map(String), request.context)) return false;
    }
  }
  return true;
}

/** Checks a document's shape once, naming what is wrong. */
export function checkPolicy(document: PolicyDocument, name: string): void {
  const statements = document.Statement;
  if (statements.length === 0) throw new Error(`policy ${name}: no Statement`);
  for (const [index, statement] of statements.entries()) {
    const where = `policy ${name} statement ${statement.Sid ?? index}`;
    if (statement.Effect !== 'Allow' && statement.Effect !== 'Deny')
      throw new Error(`${where}: Effect must be Allow or Deny`);
    if ((statement.Action === undefined) === (statement.NotAction === undefined))
      throw new Error(`${where}: give exactly one of Action and NotAction`);
    if ((statement.Resource === undefined) === (statement.NotResource === undefined))
      throw new Error(`${where}: give exactly one of Resource and NotResource`);
    for (const [operator, keys] of Object.entries(statement.Condition ?? {})) {
      for (const key of Object.keys(keys)) conditionHolds(operator, key, [], {});
    }
  }
}

/** The decision for one request under the caller's identity policies. */
export function evaluate(policies: PolicyDocument[], request: AuthorizationRequest): Decision {
  let allowed = false;
  for (const policy of policies) {
    for (const statement of policy.Statement) {
      if (!statementApplies(statement, request)) continue;
      if (statement.Effect === 'Deny') return 'explicit-deny';
      allowed = true;
    }
  }
  return allowed ? 'allowed' : 'implicit-deny';
}
