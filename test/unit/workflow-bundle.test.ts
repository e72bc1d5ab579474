import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { bundledFiles, digestOf, workflowBundle } from '../../workers/workflow-bundle';

const silent = pino({ level: 'silent' });
let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'workflow-bundle-test-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function tree(files: Record<string, string>): string {
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(tmp, file)), { recursive: true });
    fs.writeFileSync(path.join(tmp, file), content);
  }
  return tmp;
}

describe('the files a bundle holds', () => {
  test("the project's modules, as webpack keys them; not node_modules, not what is no file", () => {
    tree({
      'root/workflows/index.ts': '',
      'root/lib/errors.ts': '',
      'root/node_modules/x/index.js': '',
      'root/lib/__proto__.ts': '',
      'outside.js': '',
    });
    const root = path.join(tmp, 'root');
    const code = [
      '/***/ "./workflows/index.ts":',
      '/***/ "./lib/errors.ts": (function() { require("./lib/errors.ts") })',
      '/***/ "./node_modules/x/index.js":',
      '"./operation-handler"',
      '"./lib/gone.ts"',
      '"./lib/__proto__.ts"',
      '"./../outside.js"',
      '"./lib/../../outside.js"',
    ].join('\n');
    expect(bundledFiles(code, root)).toEqual(['lib/__proto__.ts', 'lib/errors.ts', 'workflows/index.ts']);
  });
});

describe('the digest of a bundle sources', () => {
  test('changes with any listed file or the lock file, and only with them', () => {
    const root = tree({ 'package-lock.json': '{}', 'workflows/a.ts': 'a', 'lib/b.ts': 'b', 'lib/other.ts': 'x' });
    const files = ['lib/b.ts', 'workflows/a.ts'];
    const digest = digestOf(files, root);
    expect(digestOf(files, root)).toBe(digest);
    fs.writeFileSync(path.join(root, 'lib/other.ts'), 'y');
    expect(digestOf(files, root)).toBe(digest);
    fs.writeFileSync(path.join(root, 'lib/b.ts'), 'b2');
    expect(digestOf(files, root)).not.toBe(digest);
    fs.writeFileSync(path.join(root, 'lib/b.ts'), 'b');
    expect(digestOf(files, root)).toBe(digest);
    fs.writeFileSync(path.join(root, 'package-lock.json'), '{ }');
    expect(digestOf(files, root)).not.toBe(digest);
  });

  test('a missing file, an empty file and moved bytes between files all differ', () => {
    const root = tree({ 'package-lock.json': '', 'a.ts': 'ab', 'b.ts': '' });
    const moved = digestOf(['a.ts', 'b.ts'], root);
    fs.writeFileSync(path.join(root, 'a.ts'), 'a');
    fs.writeFileSync(path.join(root, 'b.ts'), 'b');
    expect(digestOf(['a.ts', 'b.ts'], root)).not.toBe(moved);
    fs.writeFileSync(path.join(root, 'b.ts'), '');
    const empty = digestOf(['a.ts', 'b.ts'], root);
    fs.rmSync(path.join(root, 'b.ts'));
    expect(digestOf(['a.ts', 'b.ts'], root)).not.toBe(empty);
  });
});

describe('the cached bundle', () => {
  test('built once, then used while its sources are unchanged, built anew when they differ', async () => {
    const dir = path.join(tmp, 'cache');
    const first = await workflowBundle(silent, dir);
    expect(first).toEqual({ codePath: path.join(dir, 'workflow-bundle.js') });
    const code = fs.readFileSync(path.join(dir, 'workflow-bundle.js'), 'utf8');
    expect(code).toContain('"./workflows/replay.ts"');
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.files).toEqual(expect.arrayContaining(['workflows/index.ts', 'lib/contracts/index.ts']));
    expect(manifest.files.some((file: string) => file.startsWith('activities/'))).toBe(false);
    expect(manifest.digest).toBe(digestOf(manifest.files));

    // Unchanged sources: the cached file is used as it is (a marker written into it shows).
    fs.writeFileSync(path.join(dir, 'workflow-bundle.js'), `${code}\n// cached`);
    expect(await workflowBundle(silent, dir)).toEqual(first);
    expect(fs.readFileSync(path.join(dir, 'workflow-bundle.js'), 'utf8')).toContain('// cached');

    // Sources that differ from the manifest's digest: bundled again, the marker gone.
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ ...manifest, digest: 'f'.repeat(64) }));
    expect(await workflowBundle(silent, dir)).toEqual(first);
    expect(fs.readFileSync(path.join(dir, 'workflow-bundle.js'), 'utf8')).not.toContain('// cached');

    // A manifest that is not one, or a bundle missing: bundled again.
    fs.writeFileSync(path.join(dir, 'manifest.json'), '{"files": "__proto__"}');
    fs.writeFileSync(path.join(dir, 'workflow-bundle.js'), '// cached');
    await workflowBundle(silent, dir);
    expect(fs.readFileSync(path.join(dir, 'workflow-bundle.js'), 'utf8')).not.toContain('// cached');
    fs.rmSync(path.join(dir, 'workflow-bundle.js'));
    expect(await workflowBundle(silent, dir)).toEqual(first);
    expect(fs.existsSync(path.join(dir, 'workflow-bundle.js'))).toBe(true);
  }, 60_000);

  test('a cache folder that cannot be written: the bundle is returned in memory', async () => {
    const blocked = path.join(tmp, 'file');
    fs.writeFileSync(blocked, '');
    const bundle = await workflowBundle(silent, path.join(blocked, 'cache'));
    expect('code' in bundle && bundle.code).toContain('"./workflows/index.ts"');
  }, 60_000);
});
