import type { Arns, Permission } from '../authorize';
import type { PermissionRules } from '../protocol/json-protocol';

/**
 * What each Glue operation is authorised on, as AWS Glue's resource-level
 * permissions define it: the action is `glue:<Operation>`; catalog operations
 * need it on the catalog, the database and (for table and partition operations)
 * the table; crawler operations on the crawler; listings of crawlers on `*`.
 * Creating or changing a crawler's role also needs `iam:PassRole` on that role.
 */

interface Named {
  Name?: string;
}
interface InDatabase {
  DatabaseName?: string;
}
interface OnTable extends InDatabase {
  TableName?: string;
}

export function gluePermissions(arns: Arns, accountId: string): PermissionRules {
  const onTable = (action: string) => (input: OnTable) => arns.tablePath(action, input.DatabaseName!, input.TableName!);
  const onCrawler = (action: string) => (input: Named) => [{ action, resource: arns.glueCrawler(input.Name!) }];
  const passRole = (role: string | undefined): Permission[] =>
    role === undefined
      ? []
      : [
          {
            action: 'iam:PassRole',
            resource: role.startsWith('arn:') ? role : `arn:aws:iam::${accountId}:role/${role}`,
            context: { 'iam:PassedToService': 'glue.amazonaws.com' },
          },
        ];
  const anywhere = (action: string) => () => [{ action, resource: '*' }];

  return {
    CreateDatabase: (input: { DatabaseInput?: Named }) =>
      arns.databasePath('glue:CreateDatabase', input.DatabaseInput!.Name!),
    GetDatabase: (input: Named) => arns.databasePath('glue:GetDatabase', input.Name!),
    // The list itself keeps only the databases the caller may see.
    GetDatabases: () => [{ action: 'glue:GetDatabases', resource: arns.glueCatalog() }],
    UpdateDatabase: (input: Named) => arns.databasePath('glue:UpdateDatabase', input.Name!),
    // Deleting a database deletes its tables and functions too.
    DeleteDatabase: (input: Named) => [
      ...arns.databasePath('glue:DeleteDatabase', input.Name!),
      { action: 'glue:DeleteDatabase', resource: arns.glueTable(input.Name!, '*') },
      { action: 'glue:DeleteDatabase', resource: arns.glueUserDefinedFunction(input.Name!, '*') },
    ],
    CreateTable: (input: InDatabase & { TableInput?: Named }) =>
      arns.tablePath('glue:CreateTable', input.DatabaseName!, input.TableInput!.Name!),
    GetTable: (input: InDatabase & Named) => arns.tablePath('glue:GetTable', input.DatabaseName!, input.Name!),
    GetTables: (input: InDatabase) => arns.tablePath('glue:GetTables', input.DatabaseName!, '*'),
    UpdateTable: (input: InDatabase & { TableInput?: Named }) =>
      arns.tablePath('glue:UpdateTable', input.DatabaseName!, input.TableInput!.Name!),
    DeleteTable: (input: InDatabase & Named) => arns.tablePath('glue:DeleteTable', input.DatabaseName!, input.Name!),
    BatchDeleteTable: (input: InDatabase & { TablesToDelete?: string[] }) =>
      (input.TablesToDelete ?? []).flatMap((table) =>
        arns.tablePath('glue:BatchDeleteTable', input.DatabaseName!, table),
      ),
    GetTableVersions: onTable('glue:GetTableVersions'),
    GetTableVersion: onTable('glue:GetTableVersion'),
    DeleteTableVersion: onTable('glue:DeleteTableVersion'),
    CreatePartition: onTable('glue:CreatePartition'),
    GetPartition: onTable('glue:GetPartition'),
    GetPartitions: onTable('glue:GetPartitions'),
    UpdatePartition: onTable('glue:UpdatePartition'),
    DeletePartition: onTable('glue:DeletePartition'),
    BatchCreatePartition: onTable('glue:BatchCreatePartition'),
    BatchGetPartition: onTable('glue:BatchGetPartition'),
    BatchDeletePartition: onTable('glue:BatchDeletePartition'),
    CreateCrawler: (input: Named & { Role?: string }) => [
      ...onCrawler('glue:CreateCrawler')(input),
      ...passRole(input.Role),
    ],
    UpdateCrawler: (input: Named & { Role?: string }) => [
      ...onCrawler('glue:UpdateCrawler')(input),
      ...passRole(input.Role),
    ],
    GetCrawler: onCrawler('glue:GetCrawler'),
    DeleteCrawler: onCrawler('glue:DeleteCrawler'),
    StartCrawler: onCrawler('glue:StartCrawler'),
    StopCrawler: onCrawler('glue:StopCrawler'),
    GetCrawlers: anywhere('glue:GetCrawlers'),
    ListCrawlers: anywhere('glue:ListCrawlers'),
    GetCrawlerMetrics: anywhere('glue:GetCrawlerMetrics'),
  };
}
