import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { loadConfig, PROJECT_ROOT } from '../lib/config';
import { createLogger } from '../lib/logger';
import { openStack, selectServices, withStackUp } from '../stack';

/**
 * `npm test`: lint, format check, type-check, the import graph's rules
 * (`npm run check-imports`), then every jest test against the real local stack. Services this run starts, it stops; services that were
 * already up stay up. Arguments go to jest (`npm test -- test/unit`).
 */
async function main(): Promise<number> {
  const config = loadConfig();
  const logger = createLogger('test', config.logLevel);
  const bin = (name: string) => path.join(PROJECT_ROOT, 'node_modules/.bin', name);
  const run = (label: string, command: string, args: string[]) => {
    process.stderr.write(`\n=== ${label}\n`);
    const result = spawnSync(command, args, { cwd: PROJECT_ROOT, stdio: 'inherit' });
    if (result.status !== 0) logger.error({ step: label, exit: result.status ?? result.signal }, `${label} failed`);
    return result.status === 0;
  };

  const checks = [
    run('eslint', bin('eslint'), ['.']),
    run('prettier --check', bin('prettier'), ['--check', '--log-level', 'warn', '.']),
    run('tsc', bin('tsc'), ['-p', '.']),
    run('import graph', 'npm', ['run', '--silent', 'check-imports']),
  ];

  const stack = openStack(config, logger);
  await withStackUp(stack, selectServices([], false), async () => {
    const results = path.join(stack.dir, 'jest-results.json');
    checks.push(
      run('jest', bin('jest'), ['--runInBand', '--json', `--outputFile=${results}`, ...process.argv.slice(2)]),
    );
  });
  return checks.every(Boolean) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
