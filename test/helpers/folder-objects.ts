import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ObjectSource, StoredObject } from '../../local-aws/athena/engine';

/** The bucket the engine tests keep their files in. */
export const BUCKET = 'lake';

/** S3 as a folder: ETags are MD5s of the content, as S3 gives for single-part uploads. */
export class FolderObjectSource implements ObjectSource {
  readonly downloads: string[] = [];

  constructor(readonly root: string) {}

  put(key: string, body: Buffer | string): number {
    const file = path.join(this.root, BUCKET, key);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, body);
    return fs.statSync(file).size;
  }

  size(key: string): number {
    return fs.statSync(path.join(this.root, BUCKET, key)).size;
  }

  takeDownloads(): string[] {
    return this.downloads.splice(0).sort();
  }

  async list(bucket: string, prefix: string, signal: AbortSignal): Promise<StoredObject[]> {
    signal.throwIfAborted();
    const base = path.join(this.root, bucket);
    const found: StoredObject[] = [];
    const walk = (directory: string) => {
      if (!fs.existsSync(directory)) return;
      for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
        const file = path.join(directory, entry.name);
        if (entry.isDirectory()) walk(file);
        else {
          const key = path.relative(base, file).split(path.sep).join('/');
          const body = fs.readFileSync(file);
          const etag = `"${crypto.createHash('md5').update(body).digest('hex')}"`;
          if (key.startsWith(prefix)) found.push({ key, size: body.length, etag });
        }
      }
    };
    walk(base);
    return found;
  }

  async head(bucket: string, key: string, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    await fs.promises.access(path.join(this.root, bucket, key));
  }

  async download(bucket: string, key: string, file: string, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    this.downloads.push(key);
    await fs.promises.copyFile(path.join(this.root, bucket, key), file);
  }
}
