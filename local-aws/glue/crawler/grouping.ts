import type { ObjectSchema } from './classify';

/**
 * Grouping files into tables and partitions, as the Glue crawler does: from
 * the include path down, a folder whose files all share a format and a depth
 * and whose subfolders' schemas are mostly similar is the root of one table,
 * and the folders below it are its partitions; a folder that fails this splits,
 * and each of its children that passes becomes a table of its own.
 *
 * Glue does not publish its similarity measure; AWS support describes it as a
 * partition threshold above 70% with at most five schema clusters per level.
 * Reproduced here as:
 * - two schemas are similar when at least 70% of the column names of both
 *   (intersection over union) are shared;
 * - the children of a folder are clustered by similarity to each cluster's
 *   first member; the folder is one table when there are at most five clusters
 *   and the largest holds more than 70% of the children. The minority's
 *   columns are merged into the table.
 * A child is a subfolder (with the merged schema of everything below it) or a
 * file directly in the folder.
 */

/** A data object that belongs in a table. */
export interface CrawledFile {
  key: string;
  size: number;
  /** Key prefix of its folder: '' or ending in '/'. */
  folder: string;
  schema: ObjectSchema;
  /** False for objects beyond the target's SampleSize: counted, with the schema of one read in the same folder. */
  sampled: boolean;
}

export interface FolderNode {
  /** The folder's own name: the last segment of its prefix, or the bucket for the bucket root. */
  name: string;
  /** Key prefix: '' for the bucket root, otherwise ending in '/'. */
  prefix: string;
  /** Absolute level in the path, the bucket being level 1 (TableLevelConfiguration counts the same way). */
  level: number;
  folders: Map<string, FolderNode>;
  files: CrawledFile[];
}

export type TableRoot =
  | {
      kind: 'folder';
      node: FolderNode;
      files: CrawledFile[];
      /** Folder levels between the root and the files. */ depth: number;
    }
  /** A file that fits in no table with its neighbours: Glue makes it a table of its own. */
  | { kind: 'file'; file: CrawledFile };

export interface GroupingPolicy {
  combineCompatibleSchemas: boolean;
  tableLevel?: number;
}

const SIMILAR_COLUMNS = 0.7;
const PARTITION_THRESHOLD = 0.7;
const MAX_CLUSTERS = 5;

/** A Hive-style partition folder: `key=value`. */
export const partitionFolder = (name: string): { key: string; value: string } | undefined => {
  const match = /^([^=]+)=(.*)$/.exec(name);
  return match ? { key: match[1]!, value: match[2]! } : undefined;
};

/** What a folder or file contributes to its parent's decision. */
interface Unit {
  format: string;
  /** Folder levels between the parent and the files. */
  depth: number;
  columns: Set<string>;
  files: CrawledFile[];
}

/** Files of one table share classification, compression and, for CSV, delimiter and header. */
export function formatKey(schema: ObjectSchema): string {
  const { classification, compressionType, csv } = schema.format;
  return [classification, compressionType, csv?.delimiter ?? '', csv?.header ?? ''].join('|');
}

export function buildTree(bucket: string, prefix: string, files: readonly CrawledFile[]): FolderNode {
  const segments = prefix.split('/').filter(Boolean);
  const root: FolderNode = {
    name: segments.at(-1) ?? bucket,
    prefix,
    level: 1 + segments.length,
    folders: new Map(),
    files: [],
  };
  for (const file of [...files].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    let node = root;
    for (const name of file.folder.slice(prefix.length).split('/').filter(Boolean)) {
      let child = node.folders.get(name);
      if (!child) {
        child = { name, prefix: `${node.prefix}${name}/`, level: node.level + 1, folders: new Map(), files: [] };
        node.folders.set(name, child);
      }
      node = child;
    }
    node.files.push(file);
  }
  return root;
}

function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let shared = 0;
  for (const name of a) if (b.has(name)) shared += 1;
  return shared / (a.size + b.size - shared);
}

function mostlySimilar(units: readonly Unit[]): boolean {
  const clusters: { seed: ReadonlySet<string>; size: number }[] = [];
  for (const unit of units) {
    const cluster = clusters.find(({ seed }) => jaccard(seed, unit.columns) >= SIMILAR_COLUMNS);
    if (cluster) cluster.size += 1;
    else clusters.push({ seed: unit.columns, size: 1 });
  }
  const largest = Math.max(...clusters.map((cluster) => cluster.size));
  return clusters.length <= MAX_CLUSTERS && largest / units.length > PARTITION_THRESHOLD;
}

/** A subfolder or a file of a folder, with what it contributes (undefined for a subfolder that split). */
type Child = { unit: Unit | undefined } & ({ kind: 'folder'; node: FolderNode } | { kind: 'file'; file: CrawledFile });

const fileUnit = (file: CrawledFile): Unit => ({
  format: formatKey(file.schema),
  depth: 0,
  columns: new Set(file.schema.fields.map((field) => field.name)),
  files: [file],
});

/** The table roots under an include path, in key order. */
export function findTableRoots(root: FolderNode, policy: GroupingPolicy): TableRoot[] {
  const roots: TableRoot[] = [];
  const { tableLevel } = policy;

  /** The folder as one unit for its parent, or undefined when it splits (its tables are then emitted). */
  const analyze = (node: FolderNode): Unit | undefined => {
    const children: Child[] = [
      ...[...node.folders.keys()].sort().map((name): Child => {
        const folder = node.folders.get(name)!;
        const unit = analyze(folder);
        return { kind: 'folder', node: folder, unit: unit && { ...unit, depth: unit.depth + 1 } };
      }),
      ...node.files.map((file): Child => ({ kind: 'file', file, unit: fileUnit(file) })),
    ];
    const units = children.flatMap(({ unit }) => (unit ? [unit] : []));
    // TableLevelConfiguration: no table above that level; at it and below, schemas merge whatever their similarity.
    const aboveTableLevel = tableLevel !== undefined && node.level < tableLevel;
    const ignoreSimilarity = policy.combineCompatibleSchemas || tableLevel !== undefined;
    const whole =
      !aboveTableLevel &&
      units.length === children.length &&
      units.every((unit) => unit.format === units[0]!.format && unit.depth === units[0]!.depth) &&
      (ignoreSimilarity || mostlySimilar(units));
    if (whole) {
      return {
        format: units[0]!.format,
        depth: units[0]!.depth,
        columns: new Set(units.flatMap((unit) => [...unit.columns])),
        files: units.flatMap((unit) => unit.files),
      };
    }
    for (const child of children) {
      if (!child.unit) continue;
      roots.push(
        child.kind === 'folder'
          ? { kind: 'folder', node: child.node, files: child.unit.files, depth: child.unit.depth - 1 }
          : { kind: 'file', file: child.file },
      );
    }
    return undefined;
  };

  const whole = analyze(root);
  if (whole) {
    // An include path that holds nothing but one ordinary folder is a wrapper, not a table: Glue names the
    // table after the folder the data is in (s3://b/gone/ holding gone/deleted/x.json gives table `deleted`).
    // A lone `key=value` folder is a partition, so the include path stays the table.
    let node = root;
    let { depth } = whole;
    while (tableLevel === undefined && node.files.length === 0 && node.folders.size === 1) {
      const only = [...node.folders.values()][0]!;
      if (partitionFolder(only.name)) break;
      node = only;
      depth -= 1;
    }
    roots.push({ kind: 'folder', node, files: whole.files, depth });
  }
  return roots;
}

export interface PartitionLayout {
  keys: string[];
  partitions: { folder: string; values: string[]; files: CrawledFile[] }[];
}

/**
 * The partitions of a folder root: one per leaf folder, keyed by the folder
 * names between the root and the files. A level whose folders are all
 * `key=value` with the same key is named `key`; any other is `partition_<i>`
 * and takes the whole folder name as its value.
 */
export function partitionLayout(root: FolderNode, files: readonly CrawledFile[], depth: number): PartitionLayout {
  const leaves = new Map<string, CrawledFile[]>();
  for (const file of files) {
    const leaf = leaves.get(file.folder);
    if (leaf) leaf.push(file);
    else leaves.set(file.folder, [file]);
  }
  const paths = [...leaves.keys()].sort().map((folder) => ({
    folder,
    segments: folder.slice(root.prefix.length).split('/').filter(Boolean),
  }));
  const keys = Array.from({ length: depth }, (_, level) => {
    const parsed = paths.map(({ segments }) => partitionFolder(segments[level] ?? ''));
    const key = parsed[0]?.key.toLowerCase();
    return key !== undefined && parsed.every((part) => part?.key.toLowerCase() === key) ? key : undefined;
  });
  return {
    keys: keys.map((key, level) => key ?? `partition_${level}`),
    partitions:
      depth === 0
        ? []
        : paths.map(({ folder, segments }) => ({
            folder,
            values: segments.map((segment, level) =>
              keys[level] === undefined ? segment : (partitionFolder(segment)?.value ?? segment),
            ),
            files: leaves.get(folder)!,
          })),
  };
}
