import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { SingleBar } from 'cli-progress';
import { Command } from 'commander';
import { UsageError } from '../lib/errors';
import { createLogger } from '../lib/logger';
import { positiveInteger, runCli } from './cli';

/**
 * Writes a large, realistic tick file for benchmarks: many symbols traded with
 * Zipf-like popularity, prices on a geometric random walk with per-symbol
 * volatility, round and odd lots, buy and sell, Poisson arrival times.
 */

export const TICK_HEADER = 'timestamp,symbol,price,size,side';

/** mulberry32: small, fast, seedable; the same seed writes the same file. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GenerateOptions {
  rows: number;
  out: string;
  symbols: number;
  seed: number;
  start: string;
  ticksPerSecond: number;
}

export async function generateTicks(options: GenerateOptions, onProgress?: (rows: number) => void): Promise<void> {
  const next = random(options.seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const names = new Set<string>();
  while (names.size < options.symbols) {
    const length = 2 + Math.floor(next() * 3);
    names.add(Array.from({ length }, () => letters[Math.floor(next() * 26)]).join(''));
  }
  const symbols = [...names].map((name, rank) => ({
    name,
    price: Math.exp(Math.log(5) + next() * Math.log(100)), // 5 .. 500
    volatility: 0.0002 + next() * 0.0008, // per tick
    // Zipf weight: the most traded symbol is traded ~symbols times more than the least.
    weight: 1 / (rank + 1),
  }));
  const cumulative: number[] = [];
  let total = 0;
  for (const symbol of symbols) cumulative.push((total += symbol.weight));
  const pick = () => {
    const target = next() * total;
    let low = 0;
    let high = cumulative.length - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((cumulative[middle] as number) < target) low = middle + 1;
      else high = middle;
    }
    return symbols[low] as (typeof symbols)[number];
  };

  let time = Date.parse(options.start);
  const out = fs.createWriteStream(options.out);
  let buffer = `${TICK_HEADER}\n`;
  for (let row = 1; row <= options.rows; row++) {
    time += -Math.log(1 - next()) * (1000 / options.ticksPerSecond);
    const symbol = pick();
    symbol.price *= Math.exp(symbol.volatility * normal());
    const size = next() < 0.8 ? 100 * (1 + Math.floor(-Math.log(1 - next()) * 3)) : 1 + Math.floor(next() * 99);
    const side = next() < 0.5 ? 'buy' : 'sell';
    buffer += `${new Date(Math.floor(time)).toISOString()},${symbol.name},${symbol.price.toFixed(4)},${size},${side}\n`;
    if (buffer.length >= 1 << 16) {
      if (!out.write(buffer)) await once(out, 'drain');
      buffer = '';
      onProgress?.(row);
    }
  }
  out.end(buffer);
  await once(out, 'finish');
  onProgress?.(options.rows);
}

const program = new Command('npm run generate --')
  .description(`Write a realistic tick CSV (${TICK_HEADER}) for benchmarks`)
  .requiredOption('--rows <count>', 'rows to write', positiveInteger('--rows'))
  .requiredOption('--out <file>', 'the CSV to write')
  .option('--symbols <count>', 'distinct symbols', positiveInteger('--symbols'), 500)
  .option('--seed <number>', 'random seed: the same seed writes the same file', positiveInteger('--seed'), 1)
  .option('--start <iso-time>', 'time of the first tick', '2026-01-05T14:30:00.000Z')
  .option(
    '--ticks-per-second <rate>',
    'average ticks per second of market time',
    positiveInteger('--ticks-per-second'),
    2000,
  )
  .action(async (options: GenerateOptions) => {
    if (Number.isNaN(Date.parse(options.start))) throw new UsageError(`--start: '${options.start}' is not a time`);
    const out = path.resolve(options.out);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const started = Date.now();
    const bar = process.stderr.isTTY
      ? new SingleBar({ format: '{bar} {percentage}% | {value}/{total} rows | ETA {eta}s' })
      : undefined;
    const logger = createLogger('generate');
    let lastLog = 0;
    bar?.start(options.rows, 0);
    await generateTicks({ ...options, out }, (rows) => {
      bar?.update(rows);
      if (!bar && Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        logger.info({ rows, of: options.rows }, 'generating');
      }
    });
    bar?.stop();
    const seconds = (Date.now() - started) / 1000;
    console.log(`${options.rows} rows, ${fs.statSync(out).size} bytes → ${out} (${seconds.toFixed(1)} s)`);
  });

if (require.main === module) runCli(program);
