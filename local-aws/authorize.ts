import { checkPolicy, evaluate, type AuthorizationRequest, type PolicyDocument } from '../iam/evaluate';
import { policyValuesFor, renderPolicy } from '../iam/policies';
import { LOCAL_ACCOUNT_ID, ROLES, type Config, type Role } from '../lib/config';
import { AccessDenied } from './errors';

/**
 * Authorisation for the local Glue and Athena: every call, every catalog write of a
 * crawler and every table a query reads is checked against the caller's TickSync
 * role policy (iam/policies/<role>.json, rendered with this service's names, as the
 * S3 server's bucket policy is). The admin keys are the local account's root, as in
 * the S3 server: root is never refused.
 */

/** One thing a call needs: an IAM action on a resource ARN, with the request's condition keys. */
export type Permission = AuthorizationRequest;

/** The caller as AWS names it in AccessDenied messages. */
export interface Principal {
  /** The TickSync role whose policy applies. */
  role: Role;
  /** `arn:aws:iam::…:user/ticksync-analyst`, or the crawler's assumed role. */
  arn: string;
}

export const userPrincipal = (role: Role): Principal => ({
  role,
  arn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:user/ticksync-${role}`,
});

/** A crawler acting as its role, named as Glue's crawler sessions are. */
export const crawlerPrincipal = (role: Role): Principal => ({
  role,
  arn: `arn:aws:sts::${LOCAL_ACCOUNT_ID}:assumed-role/ticksync-${role}/AWS-Crawler`,
});

export const isRole = (name: string): name is Role => (ROLES as readonly string[]).includes(name);

/** The ARNs of the resources Glue and Athena authorise on, in this service's region and account. */
export class Arns {
  constructor(private readonly region: string) {}
  private glue = (resource: string) => `arn:aws:glue:${this.region}:${LOCAL_ACCOUNT_ID}:${resource}`;
  glueCatalog = () => this.glue('catalog');
  // Glue keeps names lowercase, and its ARNs carry them so.
  glueDatabase = (database: string) => this.glue(`database/${database.toLowerCase()}`);
  glueTable = (database: string, table: string) => this.glue(`table/${database.toLowerCase()}/${table.toLowerCase()}`);
  glueUserDefinedFunction = (database: string, name: string) =>
    this.glue(`userDefinedFunction/${database.toLowerCase()}/${name.toLowerCase()}`);
  glueCrawler = (crawler: string) => this.glue(`crawler/${crawler}`);
  athenaWorkGroup = (workGroup: string) => `arn:aws:athena:${this.region}:${LOCAL_ACCOUNT_ID}:workgroup/${workGroup}`;
  /**
   * What a catalog call on a table needs the action on: the table, its database and
   * the catalog (most specific first, so a refusal names the table).
   */
  tablePath(action: string, database: string, table: string): Permission[] {
    return [{ action, resource: this.glueTable(database, table) }, ...this.databasePath(action, database)];
  }
  databasePath(action: string, database: string): Permission[] {
    return [
      { action, resource: this.glueDatabase(database) },
      { action, resource: this.glueCatalog() },
    ];
  }
}

export class Authorizer {
  readonly arns: Arns;
  private readonly policies: Map<Role, PolicyDocument>;

  constructor(config: Config) {
    this.arns = new Arns(config.aws.region);
    const values = policyValuesFor(config, LOCAL_ACCOUNT_ID);
    this.policies = new Map(
      ROLES.filter((role) => role !== 'admin').map((role) => {
        const policy = renderPolicy(role, values);
        checkPolicy(policy, role);
        return [role, policy];
      }),
    );
  }

  /** Whether the principal may do what the permission says. */
  allows(principal: Principal, permission: Permission): boolean {
    const policy = this.policies.get(principal.role);
    return !policy || evaluate([policy], permission) === 'allowed';
  }

  /** Throws AccessDeniedException, worded as AWS words it, for the first permission the principal lacks. */
  check(principal: Principal, permissions: Permission[]): void {
    const policy = this.policies.get(principal.role);
    if (!policy) return; // root
    for (const permission of permissions) {
      const decision = evaluate([policy], permission);
      if (decision === 'allowed') continue;
      const why =
        decision === 'explicit-deny'
          ? 'with an explicit deny in an identity-based policy'
          : `because no identity-based policy allows the ${permission.action} action`;
      throw AccessDenied(
        `User: ${principal.arn} is not authorized to perform: ${permission.action} on resource: ${permission.resource} ${why}`,
      );
    }
  }
}
