import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../lib/config';

/**
 * cfn-lint, the CloudFormation linter (PyPI), installed once into a virtualenv in
 * the cache (`TICKSYNC_CACHE_DIR`, by default ~/.cache/ticksync) at a pinned version,
 * so every machine lints the template with the same rules and resource schemas.
 */

export const CFN_LINT_VERSION = '1.58.0';

export class CfnLintInstallError extends Error {
  override readonly name = 'CfnLintInstallError';
}

export interface CfnLintOptions {
  /** Where the virtualenv goes; the configured cache by default. */
  cacheDir?: string;
  /** The Python that makes the virtualenv (3.9 or later, with the venv module). */
  python?: string;
}

/** Runs a command with its output appended to the log; resolves with the exit code. */
function run(command: string, args: string[], logFile: string): Promise<number> {
  const log = fs.openSync(logFile, 'a');
  fs.writeSync(log, `\n$ ${command} ${args.join(' ')}\n`);
  return new Promise<number>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', log, log] });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  }).finally(() => fs.closeSync(log));
}

/**
 * pip's launcher names the interpreter by the folder the virtualenv was built in;
 * this one finds it beside itself, so the finished folder can be renamed into place.
 */
const LAUNCHER = `#!/bin/sh
exec "$(dirname "$0")/python" -c 'import sys; from cfnlint.runner import main; sys.argv[0] = "cfn-lint"; sys.exit(main())' "$@"
`;

/**
 * The path of the pinned cfn-lint, installed on first use: `python3 -m venv`, then
 * `pip install cfn-lint==<version>` from the package index pip is set up with. The
 * virtualenv is built in a temporary folder and renamed into place when complete,
 * so an interrupted or concurrent install never leaves a half-made one.
 */
export async function ensureCfnLint(options: CfnLintOptions = {}): Promise<string> {
  const cacheDir = options.cacheDir ?? loadConfig().stack.cacheDir;
  const python = options.python ?? 'python3';
  const home = path.join(cacheDir, `cfn-lint-${CFN_LINT_VERSION}`);
  const binary = path.join(home, 'bin', 'cfn-lint');
  if (fs.existsSync(binary)) return binary;

  fs.mkdirSync(cacheDir, { recursive: true });
  const logFile = path.join(cacheDir, `install-cfn-lint-${CFN_LINT_VERSION}.log`);
  const staging = fs.mkdtempSync(path.join(cacheDir, '.cfn-lint-'));
  process.stderr.write(`installing cfn-lint ${CFN_LINT_VERSION} into ${home} (first run only; log: ${logFile})\n`);
  try {
    let code: number;
    try {
      code = await run(
        python,
        ['-c', 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 9) else 3)'],
        logFile,
      );
    } catch (error) {
      throw new CfnLintInstallError(
        (error as NodeJS.ErrnoException).code === 'ENOENT'
          ? `'${python}' is not on PATH: cfn-lint needs Python 3.9 or later with its venv module (Debian: apt-get install python3 python3-venv)`
          : `${python} failed to start: ${(error as Error).message}`,
      );
    }
    if (code === 3)
      throw new CfnLintInstallError(`cfn-lint ${CFN_LINT_VERSION} needs Python 3.9 or later; ${python} is older`);
    if (code !== 0) {
      throw new CfnLintInstallError(
        `${python} has no venv or ensurepip module, so no pip for cfn-lint (Debian: apt-get install python3-venv); see ${logFile}`,
      );
    }
    if ((await run(python, ['-m', 'venv', staging], logFile)) !== 0) {
      throw new CfnLintInstallError(`${python} -m venv ${staging} failed; see ${logFile}`);
    }
    const pip = [
      '-m',
      'pip',
      'install',
      '--disable-pip-version-check',
      '--no-input',
      '--quiet',
      `cfn-lint==${CFN_LINT_VERSION}`,
    ];
    if ((await run(path.join(staging, 'bin', 'python'), pip, logFile)) !== 0) {
      throw new CfnLintInstallError(
        `pip could not install cfn-lint==${CFN_LINT_VERSION} (is the package index reachable?); see ${logFile}`,
      );
    }
    const launcher = path.join(staging, 'bin', 'cfn-lint');
    fs.writeFileSync(launcher, LAUNCHER, { mode: 0o755 });
    if ((await run(launcher, ['--version'], logFile)) !== 0) {
      throw new CfnLintInstallError(`the installed cfn-lint does not run; see ${logFile}`);
    }
    fs.renameSync(staging, home);
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true });
    // Another process finished the same install first: use its copy.
    if (fs.existsSync(binary)) return binary;
    throw error;
  }
  return binary;
}

/** The folder of cfn-lint's data files (resource schemas, IAM actions and ARN formats). */
export function cfnLintDataDir(binary: string): string {
  const lib = path.join(path.dirname(binary), '..', 'lib');
  const python = fs.readdirSync(lib).find((name) => name.startsWith('python3'));
  if (!python) throw new CfnLintInstallError(`no python3.* folder in ${lib}`);
  return path.join(lib, python, 'site-packages', 'cfnlint', 'data');
}

if (require.main === module) {
  ensureCfnLint().then(
    (binary) => console.log(binary),
    (error: unknown) => {
      console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
