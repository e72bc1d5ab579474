import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { removeOrphanedWork } from '../../activities/compact';

/** A pid no process holds: one of a child that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('compact work folders left by killed workers', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'compact-work-test-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test("a dead worker's folders go, a live worker's and anything else stay", async () => {
    const dead = deadPid();
    const names = [
      `ticksync-compact-${dead}-aB3xYz`,
      `ticksync-compact-${dead}-second`,
      `ticksync-compact-${process.pid}-live01`,
      'ticksync-compact-noPid1',
      'ticksync-compact--1-x',
      `ticksync-csv-${dead}-x`,
      `other-${dead}`,
    ];
    for (const name of names) {
      fs.mkdirSync(path.join(tmp, name));
      fs.writeFileSync(path.join(tmp, name, 'part.parquet'), 'x');
    }
    const removed = await removeOrphanedWork(pino({ level: 'silent' }), tmp);
    expect(removed.sort()).toEqual([`ticksync-compact-${dead}-aB3xYz`, `ticksync-compact-${dead}-second`]);
    expect(fs.readdirSync(tmp).sort()).toEqual(names.slice(2).sort());
  });

  test("a file named like a dead worker's folder goes too; an empty tmp is no error", async () => {
    expect(await removeOrphanedWork(pino({ level: 'silent' }), tmp)).toEqual([]);
    const dead = deadPid();
    fs.writeFileSync(path.join(tmp, `ticksync-compact-${dead}-file`), 'x');
    expect(await removeOrphanedWork(pino({ level: 'silent' }), tmp)).toEqual([`ticksync-compact-${dead}-file`]);
    expect(fs.readdirSync(tmp)).toEqual([]);
  });
});
