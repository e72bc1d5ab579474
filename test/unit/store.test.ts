import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JsonFileStore, JsonRecordStore } from '../../local-aws/store';

/** The local services' state files: what is saved comes back, Dates included, in order. */

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticksync-store-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Run {
  at: Date;
  name: string;
}

test('JsonFileStore saves the whole state and reads it back with its Dates', () => {
  const file = path.join(dir, 'state.json');
  const store = new JsonFileStore<{ runs: Run[] }>(file, () => ({ runs: [] }));
  store.state.runs.push({ at: new Date(1_700_000_000_000), name: 'a' });
  store.save();
  const again = new JsonFileStore<{ runs: Run[] }>(file, () => ({ runs: [] }));
  expect(again.state.runs).toEqual([{ at: new Date(1_700_000_000_000), name: 'a' }]);
  expect(fs.readdirSync(dir)).toEqual(['state.json']);
});

test('JsonRecordStore keeps one file per record, loads them in order, and forgets deleted ones', () => {
  const byTime = (a: Run, b: Run) => a.at.getTime() - b.at.getTime();
  const store = new JsonRecordStore<Run>(path.join(dir, 'runs'), byTime);
  for (const [id, minute] of [
    ['c', 3],
    ['a', 1],
    ['b', 2],
  ] as const) {
    store.records[id] = { at: new Date(minute * 60_000), name: id };
    store.save(id);
  }
  store.records.b!.name = 'changed';
  store.save('b');
  store.delete('c');
  fs.writeFileSync(path.join(dir, 'runs', 'notes.txt'), 'not a record');

  const again = new JsonRecordStore<Run>(path.join(dir, 'runs'), byTime);
  expect(Object.keys(again.records)).toEqual(['a', 'b']);
  expect(again.records.b).toEqual({ at: new Date(120_000), name: 'changed' });
  expect(() => again.save('missing')).toThrow('no record missing to save');
  again.records['../escape'] = { at: new Date(0), name: 'x' };
  expect(() => again.save('../escape')).toThrow(/is not a file name/);
});

interface State {
  databases: Record<string, { name: string; created: Date }>;
}

test('a failed save names the file, leaves no temporary file, and the next save writes the whole state', () => {
  const folder = path.join(dir, 'aws');
  const file = path.join(folder, 'glue.json');
  const store = new JsonFileStore<State>(file, () => ({ databases: {} }));
  store.state.databases.lake = { name: 'lake', created: new Date(0) };
  store.save();
  // The folder becomes unwritable: a file where the temporary file would go.
  fs.rmSync(folder, { recursive: true });
  fs.writeFileSync(folder, 'not a folder');
  store.state.databases.more = { name: 'more', created: new Date(1) };
  expect(() => store.save()).toThrow(new RegExp(`^Could not save ${file.replace(/[.]/g, '\\.')}: `));
  fs.rmSync(folder);
  store.state.databases.after = { name: 'after', created: new Date(2) };
  store.save();
  expect(fs.readdirSync(folder)).toEqual(['glue.json']);
  const reloaded = new JsonFileStore<State>(file, () => ({ databases: {} }));
  expect(Object.keys(reloaded.state.databases).sort()).toEqual(['after', 'lake', 'more']);
  expect(reloaded.state.databases.after?.created).toEqual(new Date(2));
});

test('names that are property names are stored and read back as names, and nothing is inherited', () => {
  const file = path.join(dir, 'glue.json');
  const store = new JsonFileStore<State>(file, () => ({ databases: {} }));
  expect(store.state.databases.constructor).toBeUndefined();
  store.state.databases.__proto__ = { name: '__proto__', created: new Date(3) };
  store.save();
  const reloaded = new JsonFileStore<State>(file, () => ({ databases: {} }));
  expect(Object.keys(reloaded.state.databases)).toEqual(['__proto__']);
  expect(reloaded.state.databases.__proto__?.name).toBe('__proto__');
  expect(reloaded.state.databases.toString).toBeUndefined();
  expect(reloaded.state.databases.constructor).toBeUndefined();
});
