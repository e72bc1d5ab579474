import { classifyObject, type ObjectSchema } from './classify';
import { isMissingObject, UnreadableObjectError } from './errors';
import { exclusionMatcher, isIgnoredName } from './exclusions';
import { buildTree, findTableRoots, formatKey, type CrawledFile, type TableRoot } from './grouping';
import { buildTable, withUniqueNames } from './tables';
import type { CrawledTable, CrawlRequest, CrawlResult, CrawlTarget, ObjectReader, StoredObject } from './types';

/**
 * Folders sampled at once. Enough to overlap the round trips of a lake of
 * many small objects; few, because the local S3 server and the other services
 * share the machine, and a crawl is a background job (Glue's take minutes).
 */
const FOLDER_CONCURRENCY = 4;

interface IncludePath {
  bucket: string;
  /** The prefix to list: the path after the bucket, as given. */
  listPrefix: string;
  /** The include path as a folder: '' for the bucket root, otherwise ending in '/'. */
  folder: string;
}

function includePath(path: string): IncludePath {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(path);
  if (!match) throw new Error(`Invalid S3 target path ${JSON.stringify(path)}: expected s3://bucket/prefix`);
  const bucket = match[1]!;
  const listPrefix = match[2] ?? '';
  return { bucket, listPrefix, folder: listPrefix === '' || listPrefix.endsWith('/') ? listPrefix : `${listPrefix}/` };
}

const folderOf = (key: string) => key.slice(0, key.lastIndexOf('/') + 1);
const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** Runs `task` over `items`, `limit` at a time; after a failure no new item starts. */
async function forEachConcurrently<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>) {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next]!;
      next += 1;
      try {
        await task(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

class TargetCrawl {
  private readonly path: IncludePath;
  private readonly excluded: (relativeKey: string) => boolean;
  private readonly counts = { listed: 0, ignored: 0, excluded: 0, alreadyCrawled: 0, read: 0, unread: 0 };

  constructor(
    private readonly target: CrawlTarget,
    private readonly request: CrawlRequest,
    private readonly reader: ObjectReader,
    private readonly result: { crawledFolders: Set<string>; skipped: CrawlResult['skipped'] },
  ) {
    this.path = includePath(target.path);
    this.excluded = exclusionMatcher(target.exclusions);
  }

  private url(key: string): string {
    return `s3://${this.path.bucket}/${key}`;
  }

  /** The objects to crawl, by folder: listed, less folder markers, empty objects, ignored names, exclusions and folders already crawled. */
  private async list(): Promise<Map<string, StoredObject[]>> {
    const { bucket, listPrefix, folder } = this.path;
    const { signal, skipFolders } = this.request;
    const folders = new Map<string, StoredObject[]>();
    for await (const object of this.reader.list(bucket, listPrefix, signal)) {
      signal.throwIfAborted();
      this.counts.listed += 1;
      const { key } = object;
      // A path without a trailing slash names a folder or one object; either way not its siblings (raw/ticks2/).
      const relative =
        key === listPrefix
          ? (key.split('/').at(-1) ?? key)
          : key.startsWith(folder)
            ? key.slice(folder.length)
            : undefined;
      if (relative === undefined || key.endsWith('/') || object.size === 0 || isIgnoredName(relative)) {
        this.counts.ignored += 1;
      } else if (this.excluded(relative)) {
        this.counts.excluded += 1;
      } else if (skipFolders?.has(this.url(folderOf(key)))) {
        this.counts.alreadyCrawled += 1;
      } else {
        const objects = folders.get(folderOf(key));
        if (objects) objects.push(object);
        else folders.set(folderOf(key), [object]);
      }
    }
    return folders;
  }

  private async classify(object: StoredObject): Promise<ObjectSchema | undefined> {
    const { bucket } = this.path;
    const { signal, log } = this.request;
    signal.throwIfAborted();
    try {
      return await classifyObject(object.size, (start, end) =>
        end <= start
          ? Promise.resolve(Buffer.alloc(0))
          : this.reader.read(bucket, object.key, signal, { start, end: end - 1 }),
      );
    } catch (error) {
      if (!(error instanceof UnreadableObjectError) && !isMissingObject(error)) throw error;
      const reason = error instanceof UnreadableObjectError ? error.message : 'deleted since it was listed';
      const url = this.url(object.key);
      this.result.skipped.push({ key: url, reason });
      log('warn', `skipped ${url}: ${reason}`, { object: url, reason });
      return undefined;
    }
  }

  /**
   * Reads the objects of one folder, in key order, until SampleSize of them
   * have been classified; an unreadable object does not count towards it. The
   * rest are counted in the folder's tables as files like the ones read.
   */
  private async sampleFolder(objects: StoredObject[]): Promise<CrawledFile[]> {
    const { sampleSize } = this.target;
    const read: CrawledFile[] = [];
    const unread: StoredObject[] = [];
    for (const object of [...objects].sort(byKey)) {
      if (sampleSize !== undefined && read.length >= sampleSize) {
        unread.push(object);
        continue;
      }
      const schema = await this.classify(object);
      if (schema) {
        read.push({ key: object.key, size: object.size, folder: folderOf(object.key), schema, sampled: true });
      }
    }
    this.counts.read += read.length;
    this.counts.unread += unread.length;
    if (read.length === 0) return [];
    const formats = new Map<string, number>();
    for (const file of read) formats.set(formatKey(file.schema), (formats.get(formatKey(file.schema)) ?? 0) + 1);
    const common = Math.max(...formats.values());
    const model = read.find((file) => formats.get(formatKey(file.schema)) === common)!;
    return [
      ...read,
      ...unread.map((object) => ({
        key: object.key,
        size: object.size,
        folder: folderOf(object.key),
        schema: { ...model.schema, records: 0, storedBytes: 0 },
        sampled: false,
      })),
    ];
  }

  async run(): Promise<CrawledTable[]> {
    const { bucket, listPrefix, folder } = this.path;
    const { grouping, log } = this.request;
    const folders = await this.list();
    const files: CrawledFile[] = [];
    await forEachConcurrently([...folders.keys()].sort(), FOLDER_CONCURRENCY, async (name) => {
      files.push(...(await this.sampleFolder(folders.get(name)!)));
      this.result.crawledFolders.add(this.url(name));
    });

    // An include path naming one object makes a table of that object.
    const roots: TableRoot[] = files.filter((file) => file.key === listPrefix).map((file) => ({ kind: 'file', file }));
    const inFolder = files.filter((file) => file.key !== listPrefix);
    if (inFolder.length > 0) {
      const tree = buildTree(bucket, folder, inFolder);
      if (grouping.tableLevel !== undefined && grouping.tableLevel < tree.level) {
        log('warn', 'TableLevelConfiguration is above the include path: tables are made at the include path', {
          target: this.target.path,
          tableLevel: grouping.tableLevel,
          includePathLevel: tree.level,
        });
      }
      roots.push(...findTableRoots(tree, grouping));
    }
    const tables = roots.map((root) =>
      buildTable(root, {
        bucket,
        tablePrefix: this.request.tablePrefix,
        includePath: `s3://${bucket}/${folder}`,
        exclusions: this.target.exclusions,
        log: (message, fields) => log('warn', message, fields),
      }),
    );
    log('info', 'target crawled', {
      target: this.target.path,
      ...this.counts,
      tables: tables.map((table) => ({
        name: table.name,
        location: table.location,
        partitions: table.partitions.length,
      })),
    });
    return tables;
  }
}

/**
 * Crawls S3 targets as the Glue crawler does: lists and samples the objects,
 * classifies them, and groups them into tables and partitions. Objects that
 * cannot be read are skipped and reported; S3 errors (no such bucket, access
 * denied) and StopCrawler (the signal) end the crawl with an error.
 */
export async function crawlTargets(request: CrawlRequest, reader: ObjectReader): Promise<CrawlResult> {
  const result = { crawledFolders: new Set<string>(), skipped: [] as CrawlResult['skipped'] };
  const tables: CrawledTable[] = [];
  for (const target of request.targets) {
    request.signal.throwIfAborted();
    tables.push(...(await new TargetCrawl(target, request, reader, result).run()));
  }
  return {
    tables: withUniqueNames(tables),
    crawledFolders: [...result.crawledFolders].sort(),
    skipped: result.skipped.sort(byKey),
  };
}
