import { freePorts, runScript } from '../helpers/scripts';

/**
 * What a user meets when something is wrong before any work starts: a stopped
 * stack (every service on a port nothing listens on) and mistyped commands.
 * Each script answers at once, in the same form: one `error:` line, the fix or a
 * pointer to --help, exit 1 for a service that does not answer, 2 for bad usage.
 */

let down: Record<string, string>;

beforeAll(async () => {
  const [kafka, temporal, s3, aws] = await freePorts(4);
  down = {
    TICKSYNC_KAFKA_BROKERS: `127.0.0.1:${kafka}`,
    TICKSYNC_TEMPORAL_ADDRESS: `127.0.0.1:${temporal}`,
    TICKSYNC_S3_ENDPOINT: `http://127.0.0.1:${s3}`,
    TICKSYNC_AWS_ENDPOINT: `http://127.0.0.1:${aws}`,
  };
});

const FIX = 'is not answering — start the stack with npm run stack -- up';

describe('against a stopped stack, each script exits 1 within 5 s naming the service, its address and the fix', () => {
  const cases: [string, string[], 'temporal' | 's3' | 'kafka'][] = [
    ['query', ['--named', 'top-volume'], 'temporal'],
    ['replay', ['data/indexProcessed-sample.csv'], 'temporal'],
    ['replay-control', ['status', 'some-run'], 'temporal'],
    ['consume', ['status'], 'temporal'],
    ['consume', [], 'temporal'],
    ['crawl', [], 'temporal'],
    ['compact', [], 'temporal'],
    ['schedule', ['list'], 'temporal'],
    ['healthcheck', [], 'temporal'],
    ['provision', [], 's3'],
    ['dlq', ['list'], 's3'],
  ];
  test.each(cases)('%s %p', async (script, args, service) => {
    const result = await runScript(script, args, down, 20_000);
    const address = {
      temporal: down.TICKSYNC_TEMPORAL_ADDRESS,
      s3: down.TICKSYNC_S3_ENDPOINT!.replace('http://', ''),
      kafka: down.TICKSYNC_KAFKA_BROKERS,
    }[service];
    const label = { temporal: 'Temporal', s3: 'The S3 server', kafka: 'Kafka' }[service];
    expect({ code: result.code, stderr: result.stderr }).toEqual({
      code: 1,
      stderr: `error: ${label} at ${address} ${FIX}\n`,
    });
    expect(result.ms).toBeLessThan(5000);
  });

  test('an address outside the loopback range gets the setting to check instead', async () => {
    // 0.0.0.0 is not a loopback address to the check, yet the connection stays on this machine
    // (tests send no traffic off it): port 1 refuses.
    const result = await runScript('query', ['SELECT 1'], { ...down, TICKSYNC_TEMPORAL_ADDRESS: '0.0.0.0:1' });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'error: Temporal at 0.0.0.0:1 is not answering — check TICKSYNC_TEMPORAL_ADDRESS and that the service runs\n',
    );
    expect(result.ms).toBeLessThan(5000);
  });
});

describe('usage errors read the same everywhere: one error line, a suggestion, one pointer to --help, exit 2', () => {
  const cases: [string, string[], string][] = [
    ['consume', ['stats'], "error: unknown command 'stats'\n(Did you mean status?)\n(see npm run consume -- --help)"],
    [
      'replay-control',
      ['paus', 'run-1'],
      "error: unknown command 'paus'\n(Did you mean pause?)\n(see npm run replay-control -- --help)",
    ],
    [
      'replay-control',
      [],
      'error: give a command: status, pause, resume, rate, cancel\n(see npm run replay-control -- --help)',
    ],
    [
      'query',
      ['--tabel', 'x'],
      "error: unknown option '--tabel'\n(Did you mean --table?)\n(see npm run query -- --help)",
    ],
    // A typo in a required flag is reported as the typo, not as the flag missing.
    [
      'schedule',
      ['crawl', '--evry', '5m'],
      "error: unknown option '--evry'\n(Did you mean --every?)\n(see npm run schedule -- crawl --help)",
    ],
    [
      'generate',
      ['--rows', '5'],
      "error: required option '--out <file>' not specified\n(see npm run generate -- --help)",
    ],
    [
      'query',
      ['--named', 'vwap', '--time', 'wall'],
      "error: option '--time <clock>' argument 'wall' is invalid. Allowed choices are event, arrival.\n(see npm run query -- --help)",
    ],
    ['trino-verify', [], "error: required option '--server <url>' not specified\n(see npm run trino-verify -- --help)"],
    [
      'trino-verify',
      ['--server', 'localhost'],
      "error: option '--server <url>' argument 'localhost' is invalid. expected an http(s) URL such as http://127.0.0.1:8080, got 'localhost'\n(see npm run trino-verify -- --help)",
    ],
    [
      'query',
      [],
      'error: give the SQL to run, e.g. npm run query -- "SELECT 1", or --named top-volume\n(see npm run query -- --help)',
    ],
  ];
  test.each(cases)('%s %p', async (script, args, message) => {
    const result = await runScript(script, args, down);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 2, stderr: `${message}\n` });
  });

  test('trino-verify --help says what it runs, and a server that does not answer fails at once naming it', async () => {
    const help = await runScript('trino-verify', ['--help'], down);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--server <url>/);
    expect(help.stdout).toMatch(/conformance inventory against a real Trino server/);
    const [port] = await freePorts(1);
    const result = await runScript('trino-verify', ['--server', `http://127.0.0.1:${port}`], down);
    expect({ code: result.code, stderr: result.stderr }).toEqual({
      code: 1,
      stderr: `error: Trino at http://127.0.0.1:${port}/ is not answering\n`,
    });
  });

  test('the example a bad value suggests is one the command accepts', async () => {
    const bad = await runScript('schedule', ['crawl', '--every', '5m', '--catchup-window', 'soon'], down);
    expect(bad.code).toBe(2);
    const examples = /such as ([^,]+(?:, [^,]+)*), got 'soon'/.exec(bad.stderr)?.[1]?.split(', ') ?? [];
    expect(examples.length).toBeGreaterThan(0);
    const tooShort = await runScript('schedule', ['crawl', '--every', '5s'], down);
    expect(tooShort.stderr).toMatch(/--every must be at least 1m/);
    for (const example of examples) {
      // Accepted: the script gets past its arguments and stops at the stopped stack (exit 1), not at usage (2).
      const good = await runScript('schedule', ['crawl', '--every', '5m', '--catchup-window', example], down);
      expect({ example, code: good.code, stderr: good.stderr }).toEqual({
        example,
        code: 1,
        stderr: `error: Temporal at ${down.TICKSYNC_TEMPORAL_ADDRESS} ${FIX}\n`,
      });
    }
    const every = /--every expects a duration such as ([^,]+)/.exec(
      (await runScript('schedule', ['crawl', '--every', 'often'], down)).stderr,
    )?.[1];
    expect(every).toBe('5m');
    expect((await runScript('schedule', ['crawl', '--every', every!], down)).code).toBe(1);
    const suggested = await runScript('query', ['--named', 'top-volume'], down);
    expect(suggested.code).toBe(1);
  });
});
