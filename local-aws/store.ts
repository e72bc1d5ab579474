import fs from 'node:fs';
import path from 'node:path';

const DATE_TAG = '$date';

/**
 * A service's state, kept in memory and written to one JSON file after every
 * change (to a temporary file, then renamed, so a crash leaves the previous
 * state whole). Dates survive the round trip.
 */
export class JsonFileStore<T extends object> {
  readonly state: T;

  constructor(
    private readonly file: string,
    empty: () => T,
  ) {
    this.state = fs.existsSync(file)
      ? (JSON.parse(fs.readFileSync(file, 'utf8'), (_key, value: unknown) =>
          value !== null && typeof value === 'object' && DATE_TAG in value
            ? new Date((value as Record<string, number>)[DATE_TAG]!)
            : value,
        ) as T)
      : empty();
  }

  save(): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(
      temporary,
      JSON.stringify(this.state, function (this: Record<string, unknown>, key, value: unknown) {
        const raw = this[key];
        return raw instanceof Date ? { [DATE_TAG]: raw.getTime() } : value;
      }),
    );
    fs.renameSync(temporary, this.file);
  }
}
