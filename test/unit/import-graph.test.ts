import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../lib/config';

// The rules `npm test` checks (.dependency-cruiser.cjs), run on small trees of files that break them one by one.
const CONFIG = path.join(PROJECT_ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = path.join(PROJECT_ROOT, 'node_modules/.bin/depcruise');

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticksync-imports-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(files: Record<string, string>) {
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
}

function cruise(): { status: number | null; output: string } {
  const folders = fs.readdirSync(dir);
  const result = spawnSync(DEPCRUISE, ['--config', CONFIG, '--output-type', 'err', ...folders], {
    cwd: dir,
    encoding: 'utf8',
  });
  return { status: result.status, output: result.stdout + result.stderr };
}

// A tree that keeps every rule: the layers as the project has them.
const clean = {
  'lib/contracts/replay.ts': 'export interface ReplayInput { topic: string }\n',
  'lib/hour-keys.ts': 'export const HOUR_MS = 3_600_000;\n',
  'workflows/replay.ts':
    "import type { ReplayInput } from '../lib/contracts/replay';\nimport { HOUR_MS } from '../lib/hour-keys';\n" +
    'export const run = (i: ReplayInput) => [i, HOUR_MS];\n',
  'activities/replay.ts':
    "import type { ReplayInput } from '../lib/contracts/replay';\nexport const act = (i: ReplayInput) => i;\n",
  'lib/provisioning.ts': 'export const crawler = 1;\n',
  'deploy/build-template.ts': "import { crawler } from '../lib/provisioning';\nexport const template = crawler;\n",
  'scripts/cli.ts': 'export const runCli = 1;\n',
  'scripts/provision.ts':
    "import { crawler } from '../lib/provisioning';\nimport { runCli } from './cli';\nexport const provision = [crawler, runCli];\n",
  'bench/replay.ts': "import { crawler } from '../lib/provisioning';\nexport const benchReplay = crawler;\n",
  'scripts/bench.ts': "import { benchReplay } from '../bench/replay';\nexport const run = benchReplay;\n",
};

test('a tree that keeps the rules passes', () => {
  write(clean);
  const { status, output } = cruise();
  expect(output).toContain('no dependency violations');
  expect(status).toBe(0);
});

test.each([
  [
    'activities-not-to-workflows',
    { 'activities/consume.ts': "import type { run } from '../workflows/replay';\nexport type R = typeof run;\n" },
  ],
  ['deploy-not-to-scripts', { 'deploy/build-template.ts': "export { provision } from '../scripts/provision';\n" }],
  ['lib-not-upward', { 'lib/inputs.ts': "export { act } from '../activities/replay';\n" }],
  [
    'lib-not-upward',
    { 'lib/bench.ts': "export { x } from '../bench/replay';\n", 'bench/replay.ts': 'export const x = 1;\n' },
  ],
  ['bench-only-from-bench-script', { 'test/helpers/replay.ts': "export { benchReplay } from '../../bench/replay';\n" }],
  [
    'bench-only-from-bench-script',
    { 'scripts/replay.ts': "import { benchReplay } from '../bench/replay';\nexport const r = benchReplay;\n" },
  ],
  [
    'scripts-not-to-scripts',
    { 'scripts/demo.ts': "import { provision } from './provision';\nexport const demo = provision;\n" },
  ],
  [
    'hour-keys-pure',
    { 'lib/hour-keys.ts': "import { randomUUID } from 'node:crypto';\nexport const id = randomUUID;\n" },
  ],
  [
    'hour-keys-pure',
    { 'lib/hour-keys.ts': "import { crawler } from './provisioning';\nexport const HOUR_MS = crawler;\n" },
  ],
  [
    'no-circular',
    {
      'lib/a.ts': "import { b } from './b';\nexport const a = () => b;\n",
      'lib/b.ts': "import type { a } from './a';\nexport const b = 1;\nexport type A = typeof a;\n",
    },
  ],
])('%s: an import that breaks it fails the check, naming the rule and the file', (rule, files) => {
  write({ ...clean, ...files });
  const { status, output } = cruise();
  expect(status).not.toBe(0);
  expect(output).toContain(`error ${rule}: ${Object.keys(files)[0]}`);
});
