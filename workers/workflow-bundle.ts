import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, type Logger as TemporalLogger } from '@temporalio/worker';
import type { Logger } from 'pino';
import { PROJECT_ROOT } from '../lib/config';

/**
 * The workflow code every worker runs, bundled once per version of its sources rather than at each start
 * (webpack takes 2–4 s of a worker's start). A built bundle is kept in `node_modules/.cache/` with the list of
 * project files it holds; a worker uses it while those files and package-lock.json are byte for byte the same,
 * and bundles anew (replacing it) as soon as one differs. Temporal recommends a prebuilt bundle in production.
 */

const WORKFLOWS = require.resolve('../workflows');
const BUNDLE_CACHE = path.join(PROJECT_ROOT, 'node_modules', '.cache', 'ticksync-workflow-bundle');

interface Manifest {
  /** Project files (relative to the root) the bundle holds, as webpack names its modules. */
  files: string[];
  digest: string;
}

/** The project's own files in a bundle: webpack keys each module by its path from the root ("./lib/errors.ts"). */
export function bundledFiles(code: string, root = PROJECT_ROOT): string[] {
  const files = new Set<string>();
  for (const [, file] of code.matchAll(/"\.\/((?!node_modules\/)[\w@./-]+\.(?:ts|js|json))"/g)) {
    if (!file!.split('/').includes('..') && fs.existsSync(path.join(root, file!))) files.add(file!);
  }
  return [...files].sort();
}

/** One digest over the files' contents and the locked dependencies (the SDK and whatever else is bundled). */
export function digestOf(files: string[], root = PROJECT_ROOT): string {
  const hash = createHash('sha256');
  for (const file of ['package-lock.json', ...files]) {
    let content: Buffer | string;
    try {
      content = fs.readFileSync(path.join(root, file));
    } catch {
      content = '\0missing';
    }
    hash.update(`${file}\0${content.length}\0`).update(content);
  }
  return hash.digest('hex');
}

function readManifest(dir: string): Manifest | undefined {
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
    return Array.isArray(manifest.files) && typeof manifest.digest === 'string' ? manifest : undefined;
  } catch {
    return undefined;
  }
}

/** Writes a file whole or not at all (workers starting together may write the same cache). */
function writeAtomically(file: string, content: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, content);
  fs.renameSync(temporary, file);
}

/**
 * The bundle for `Worker.create({ workflowBundle })`: the cached one when its sources are unchanged, else a new
 * one, cached for the next start (a read-only install just bundles in memory).
 */
export async function workflowBundle(
  logger: Logger,
  dir = BUNDLE_CACHE,
): Promise<{ codePath: string } | { code: string }> {
  const manifest = readManifest(dir);
  const codePath = path.join(dir, 'workflow-bundle.js');
  if (manifest && fs.existsSync(codePath) && digestOf(manifest.files) === manifest.digest) {
    logger.info({ codePath, files: manifest.files.length }, 'workflow bundle: sources unchanged, using the cached one');
    return { codePath };
  }
  const started = Date.now();
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS, logger: temporalLogger(logger) });
  const files = bundledFiles(code);
  if (!files.includes('workflows/index.ts')) {
    // The bundle's module names are not what this reads: never cache what cannot be checked.
    logger.warn('workflow bundle: could not list its source files, so it is not cached');
    return { code };
  }
  if (
    files.some(
      (file) => (fs.statSync(path.join(PROJECT_ROOT, file), { throwIfNoEntry: false })?.mtimeMs ?? Infinity) >= started,
    )
  ) {
    // A source changed while webpack read it: this bundle may hold the old text under the new digest.
    logger.info('workflow bundle: a source changed while bundling, so it is not cached');
    return { code };
  }
  try {
    fs.mkdirSync(dir, { recursive: true });
    // The code first: a manifest never names a bundle that is not there (a reader checks both).
    writeAtomically(codePath, code);
    writeAtomically(path.join(dir, 'manifest.json'), JSON.stringify({ files, digest: digestOf(files) }));
  } catch (error) {
    logger.warn({ err: error, dir }, 'workflow bundle: cannot cache it, bundling at every start');
    return { code };
  }
  logger.info({ ms: Date.now() - started, files: files.length, codePath }, 'workflow bundle built and cached');
  return { codePath };
}

/** Temporal's bundler logs through pino, its info (webpack's asset table) at debug. */
function temporalLogger(logger: Logger): TemporalLogger {
  const LEVEL = { TRACE: 'trace', DEBUG: 'debug', INFO: 'debug', WARN: 'warn', ERROR: 'error' } as const;
  const log: TemporalLogger['log'] = (level, message, meta) => logger[LEVEL[level]](meta ?? {}, message);
  return {
    log,
    trace: (message, meta) => log('TRACE', message, meta),
    debug: (message, meta) => log('DEBUG', message, meta),
    info: (message, meta) => log('INFO', message, meta),
    warn: (message, meta) => log('WARN', message, meta),
    error: (message, meta) => log('ERROR', message, meta),
  };
}
