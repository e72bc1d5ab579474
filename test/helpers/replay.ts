import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPLAY_DEFAULTS, type ReplayInput } from '../../lib/contracts';
import { uniqueName } from './workers';

export const SAMPLE_CSV = path.join(__dirname, '../../data/indexProcessed-sample.csv');

/** A replay input with the script's defaults (three partitions), a fresh topic and run id. */
export function replayInputFor(source: string, overrides: Partial<ReplayInput> = {}): ReplayInput {
  return {
    source,
    topic: uniqueName('ticks-test'),
    runId: uniqueName('run'),
    ...REPLAY_DEFAULTS,
    pacing: { ...REPLAY_DEFAULTS.pacing },
    partitions: 3,
    ...overrides,
  };
}

/** This test file's temporary CSVs, in one folder removed when the file's tests are done (bench/ has no jest). */
let csvRoot: string | undefined;
if (typeof afterAll === 'function') {
  afterAll(() => {
    if (csvRoot) fs.rmSync(csvRoot, { recursive: true, force: true });
    csvRoot = undefined;
  });
}

/** Writes a CSV into a fresh temporary folder (removed after the test file) and returns its path. */
export function writeTempCsv(name: string, content: string | Buffer): string {
  csvRoot ??= fs.mkdtempSync(path.join(os.tmpdir(), 'ticksync-csv-'));
  const dir = fs.mkdtempSync(path.join(csvRoot, 'csv-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

/** The sample's data rows repeated until `rows`, each with its own date, so every row is distinct. */
export function largeCsv(rows: number): string {
  const [header, ...data] = fs.readFileSync(SAMPLE_CSV, 'utf8').trim().split('\n');
  const lines = [header];
  for (let i = 0; i < rows; i++) {
    const fields = (data[i % data.length] as string).split(',');
    fields[1] = new Date(Date.UTC(2000, 0, 1) + i * 60_000).toISOString();
    lines.push(fields.join(','));
  }
  return writeTempCsv(`large-${rows}.csv`, `${lines.join('\n')}\n`);
}
