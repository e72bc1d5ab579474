import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../lib/config';
import { generateTicks } from '../scripts/generate';

/** The benchmarks' generated tick file (500 symbols, fixed seed), made once per row count and kept in the stack dir. */
export async function benchTickFile(config: Config, logger: Logger, rows: number): Promise<string> {
  const dir = path.join(config.stack.dir, 'bench');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `ticks-${rows}.csv`);
  if (!fs.existsSync(file)) {
    logger.info({ file }, 'generating the tick file');
    await generateTicks({
      rows,
      out: file,
      symbols: 500,
      seed: 1,
      start: '2026-01-05T14:30:00.000Z',
      ticksPerSecond: 2000,
    });
  }
  return file;
}
