import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';

/**
 * Installs the local stack's programs into a cache outside the clone, once.
 * Each install goes to a temporary folder renamed into place when complete, so
 * an interrupted or concurrent install never leaves a half-made cache entry.
 */

export class InstallError extends Error {
  override readonly name = 'InstallError';
}

async function run(command: string, args: string[], env: NodeJS.ProcessEnv, logFile: string): Promise<void> {
  const log = fs.openSync(logFile, 'a');
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(command, args, { env, stdio: ['ignore', log, log] });
      child.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          new InstallError(
            error.code === 'ENOENT'
              ? `'${command}' is not on PATH; it is needed to install the local stack`
              : `${command} failed to start: ${error.message}`,
          ),
        ),
      );
      child.once('exit', (code, signal) =>
        code === 0
          ? resolve()
          : reject(new InstallError(`${command} ${args.join(' ')} exited with ${code ?? signal}; see ${logFile}`)),
      );
    });
  } finally {
    fs.closeSync(log);
  }
}

async function withProgress<T>(logger: Logger, what: string, work: Promise<T>): Promise<T> {
  const started = Date.now();
  const timer = setInterval(
    () => logger.info({ seconds: Math.round((Date.now() - started) / 1000) }, `still installing ${what}`),
    30_000,
  );
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

export interface GoTool {
  name: string;
  module: string;
  version: string;
}

export const TEMPORAL_CLI: GoTool = {
  name: 'temporal',
  module: 'github.com/temporalio/cli/cmd/temporal',
  version: 'v1.5.1',
};
export const VERSITYGW: GoTool = {
  name: 'versitygw',
  module: 'github.com/versity/versitygw/cmd/versitygw',
  version: 'v1.7.0',
};

/** `go install module@version` into the cache; returns the binary's path. */
export async function ensureGoTool(tool: GoTool, cacheDir: string, logDir: string, logger: Logger): Promise<string> {
  const binary = path.join(cacheDir, 'bin', `${tool.name}-${tool.version}`);
  if (fs.existsSync(binary)) return binary;
  fs.mkdirSync(path.dirname(binary), { recursive: true });
  fs.mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, `install-${tool.name}.log`);
  const gobin = fs.mkdtempSync(path.join(cacheDir, `.${tool.name}-`));
  logger.info({ logFile }, `installing ${tool.name} ${tool.version} with go install (first run only; a few minutes)`);
  try {
    await withProgress(
      logger,
      tool.name,
      run(
        'go',
        ['install', `${tool.module}@${tool.version}`],
        { ...process.env, GOBIN: gobin, GOFLAGS: '-buildvcs=false' },
        logFile,
      ),
    );
    fs.renameSync(path.join(gobin, tool.name), binary);
  } finally {
    fs.rmSync(gobin, { recursive: true, force: true });
  }
  return binary;
}

/** The Kafka broker's jars, fetched by Maven from stack/kafka/pom.xml; returns the classpath folder. */
export async function ensureKafkaJars(
  pomFile: string,
  cacheDir: string,
  logDir: string,
  logger: Logger,
): Promise<string> {
  const digest = crypto.createHash('sha256').update(fs.readFileSync(pomFile)).digest('hex').slice(0, 12);
  const libs = path.join(cacheDir, `kafka-${digest}`);
  if (fs.existsSync(libs)) return libs;
  fs.mkdirSync(cacheDir, { recursive: true });
  fs.mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, 'install-kafka.log');
  const staging = fs.mkdtempSync(path.join(cacheDir, '.kafka-'));
  logger.info({ logFile }, 'fetching the Kafka jars with Maven (first run only)');
  try {
    await withProgress(
      logger,
      'the Kafka jars',
      run(
        'mvn',
        ['-B', '-q', '-f', pomFile, 'dependency:copy-dependencies', `-DoutputDirectory=${staging}`],
        process.env,
        logFile,
      ),
    );
    fs.renameSync(staging, libs);
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true });
    // Another `up` finished the same install first: use its copy.
    if (!fs.existsSync(libs)) throw error;
  }
  return libs;
}

/**
 * `java` with the Kafka jars on its classpath and the stack's log4j2 settings:
 * the broker, its storage tool and the perf tools all start this way.
 */
export async function kafkaJava(
  projectRoot: string,
  cacheDir: string,
  logDir: string,
  logger: Logger,
): Promise<{ command: string; args: string[] }> {
  const libs = await ensureKafkaJars(path.join(projectRoot, 'stack/kafka/pom.xml'), cacheDir, logDir, logger);
  return {
    command: process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin/java') : 'java',
    args: [`-Dlog4j2.configurationFile=${path.join(projectRoot, 'stack/kafka/log4j2.properties')}`, '-cp', `${libs}/*`],
  };
}

/**
 * A Python virtual environment with the packages pinned in a requirements file
 * (e.g. boto3, a second AWS client for the local service's wire protocol), made
 * once per file content; returns its `python`.
 */
export async function ensurePythonEnv(
  requirementsFile: string,
  cacheDir: string,
  logDir: string,
  logger: Logger,
): Promise<string> {
  const digest = crypto.createHash('sha256').update(fs.readFileSync(requirementsFile)).digest('hex').slice(0, 12);
  const venv = path.join(cacheDir, `python-${digest}`);
  const python = path.join(venv, 'bin', 'python');
  if (fs.existsSync(python)) return python;
  fs.mkdirSync(cacheDir, { recursive: true });
  fs.mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, 'install-python.log');
  const staging = fs.mkdtempSync(path.join(cacheDir, '.python-'));
  const building = path.join(staging, 'venv');
  logger.info({ logFile, requirementsFile }, 'installing Python packages with pip (first run only)');
  try {
    // Only the venv's `python` is used, and it finds its packages wherever the folder is moved.
    await run('python3', ['-m', 'venv', building], process.env, logFile);
    await withProgress(
      logger,
      'the Python packages',
      run(
        path.join(building, 'bin', 'python'),
        ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', '-r', requirementsFile],
        process.env,
        logFile,
      ),
    );
    fs.renameSync(building, venv);
  } catch (error) {
    // Another run finished the same install first: use its copy.
    if (!fs.existsSync(python)) throw error;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return python;
}

/** Where Debian's chromium package puts the browser. */
const DEBIAN_CHROMIUM = '/usr/bin/chromium';

/**
 * The Chromium the dashboard's browser tests drive (Debian's package, not a
 * browser download): installed with apt-get when missing, which needs root.
 */
export async function ensureChromium(logDir: string, logger: Logger): Promise<string> {
  if (fs.existsSync(DEBIAN_CHROMIUM)) return DEBIAN_CHROMIUM;
  if (process.getuid?.() !== 0)
    throw new InstallError(`${DEBIAN_CHROMIUM} is missing: install it with 'sudo apt-get install -y chromium'`);
  fs.mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, 'chromium-install.log');
  logger.info({ log: logFile }, "installing Debian's chromium for the dashboard's browser tests (apt-get)");
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await withProgress(
    logger,
    'chromium',
    run('apt-get', ['update'], env, logFile).then(() =>
      run('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], env, logFile),
    ),
  );
  if (!fs.existsSync(DEBIAN_CHROMIUM))
    throw new InstallError(`apt-get installed chromium, yet ${DEBIAN_CHROMIUM} is missing`);
  return DEBIAN_CHROMIUM;
}
