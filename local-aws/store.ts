import fs from 'node:fs';
import path from 'node:path';
import { dictionary, type Dictionary, toDictionaries } from './dictionary';

const DATE_TAG = '$date';

/** JSON text in which Dates survive the round trip (as `{"$date": epochMillis}`). */
function stringify(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key, field: unknown) {
    const raw = this[key];
    return raw instanceof Date ? { [DATE_TAG]: raw.getTime() } : field;
  });
}

/** The state as it was saved, every object in it a dictionary (names from users are its keys). */
function parse<T>(text: string): T {
  return toDictionaries(
    JSON.parse(text, (_key, value: unknown) =>
      value !== null && typeof value === 'object' && DATE_TAG in value
        ? new Date((value as Record<string, number>)[DATE_TAG]!)
        : value,
    ) as T,
  );
}

/**
 * Writes to a temporary file, then renames, so a crash leaves the previous content whole.
 * A failure names the file and leaves no temporary behind; the state in memory is
 * untouched, so the next save writes it all again.
 */
function writeWhole(file: string, text: () => string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(temporary, text());
    fs.renameSync(temporary, file);
  } catch (error) {
    try {
      fs.rmSync(temporary, { force: true });
    } catch {
      // Its folder is what failed: there is no temporary file to remove.
    }
    throw new Error(`Could not save ${file}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * A service's state, kept in memory and written to one JSON file after every
 * change. For small state (catalogs, work groups): each save writes it all.
 */
export class JsonFileStore<T extends object> {
  readonly state: T;

  constructor(
    private readonly file: string,
    empty: () => T,
  ) {
    this.state = fs.existsSync(file) ? parse<T>(fs.readFileSync(file, 'utf8')) : toDictionaries(empty());
  }

  save(): void {
    writeWhole(this.file, () => stringify(this.state));
  }
}

/**
 * Many records of one kind (such as query executions), each in a JSON file of its
 * own under a folder, so saving one costs one small write however many there are.
 * `records` holds them in memory, in the order `compare` gives on loading and then
 * in the order they were added.
 */
export class JsonRecordStore<T extends object> {
  readonly records: Dictionary<T> = dictionary();

  constructor(
    private readonly dir: string,
    compare: (a: T, b: T) => number,
  ) {
    fs.mkdirSync(dir, { recursive: true });
    const loaded: [string, T][] = [];
    for (const name of fs.readdirSync(dir)) {
      if (!name.endsWith('.json')) continue;
      try {
        loaded.push([name.slice(0, -'.json'.length), parse<T>(fs.readFileSync(path.join(dir, name), 'utf8'))]);
      } catch {
        // A file cut short by a crash before its rename cannot exist; anything else unreadable is not ours.
      }
    }
    loaded.sort(([, a], [, b]) => compare(a, b));
    for (const [id, record] of loaded) this.records[id] = record;
  }

  private file(id: string): string {
    if (!/^[\w.-]+$/.test(id)) throw new Error(`record id ${JSON.stringify(id)} is not a file name`);
    return path.join(this.dir, `${id}.json`);
  }

  /** Writes the record as it is in `records` now. */
  save(id: string): void {
    const record = this.records[id];
    if (record === undefined) throw new Error(`no record ${id} to save`);
    writeWhole(this.file(id), () => stringify(record));
  }

  delete(id: string): void {
    delete this.records[id];
    fs.rmSync(this.file(id), { force: true });
  }
}
