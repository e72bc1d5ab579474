// Installs the native module of @confluentinc/kafka-javascript (librdkafka), which npm ci leaves out: its
// install script downloads a prebuilt binary from GitHub, which fails offline, so package.json's allowScripts
// denies it. Tried in order: a build cached for this version, Node ABI and platform; the prebuilt download;
// a build from the package's bundled librdkafka sources against the system's libraries. Whatever works is
// cached. A failure leaves kafkajs (the default client) working and says how to retry. Plain Node, no packages.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** Debian packages librdkafka builds against (TLS, SASL, compression), with a header each provides. */
const DEV_PACKAGES = {
  'libssl-dev': '/usr/include/openssl/ssl.h',
  'libsasl2-dev': '/usr/include/sasl/sasl.h',
  'zlib1g-dev': '/usr/include/zlib.h',
  'libzstd-dev': '/usr/include/zstd.h',
  'liblz4-dev': '/usr/include/lz4.h',
};

const say = (line) => process.stderr.write(`bootstrap: ${line}\n`);

function cacheRoot() {
  const home = process.env.HOME ?? os.tmpdir();
  return path.resolve(process.env.TICKSYNC_CACHE_DIR ?? `${process.env.XDG_CACHE_HOME ?? `${home}/.cache`}/ticksync`);
}

/**
 * Copies a build's module and shared libraries (build/Release/*.node and *.so.N, build/deps/*.so.N: the module
 * loads librdkafka.so.1 from ../deps) from one build dir to another, without the object files.
 */
function copyBuild(from, to) {
  for (const dir of ['Release', 'deps']) {
    if (!fs.existsSync(path.join(from, dir))) continue; // a prebuilt binary has no deps/
    fs.mkdirSync(path.join(to, dir), { recursive: true });
    for (const entry of fs.readdirSync(path.join(from, dir), { withFileTypes: true })) {
      if (entry.isFile() && /\.(node|so\.\d+)$/.test(entry.name))
        fs.copyFileSync(path.join(from, dir, entry.name), path.join(to, dir, entry.name));
    }
  }
}

/** Whether the module loads, in a child process (a broken build must not crash the bootstrap). */
function loads(packageDir) {
  try {
    execFileSync(process.execPath, ['-e', `require(${JSON.stringify(packageDir)}).librdkafkaVersion`], {
      stdio: 'ignore',
      timeout: 30_000,
    });
    return true;
  } catch {
    return false;
  }
}

function missingDevPackages() {
  return Object.entries(DEV_PACKAGES)
    .filter(([, header]) => !fs.existsSync(header))
    .map(([name]) => name);
}

function nodeHeadersDir() {
  // Debian's nodejs package puts Node's headers (and common.gypi) under /usr/include/node.
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'common.gypi')) ? prefix : undefined;
}

/** node-gyp: npm's own copy (npm ships it for this purpose). */
function nodeGyp() {
  const candidates = [
    process.env.npm_execpath && path.join(path.dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp'),
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp'),
  ].filter(Boolean);
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, 'bin', 'node-gyp.js')));
  return found && path.join(found, 'bin', 'node-gyp.js');
}

function buildFromSource(packageDir, log) {
  const missing = missingDevPackages();
  if (missing.length > 0) {
    say(`installing ${missing.join(' ')} with apt-get (librdkafka builds against them)`);
    const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
    const run = (args) => execFileSync(sudo[0] ?? args[0], sudo.length ? args : args.slice(1), { stdio: 'inherit' });
    run(['apt-get', 'update']);
    run(['apt-get', 'install', '-y', '--no-install-recommends', ...missing]);
  }
  const nodedir = nodeHeadersDir();
  const gyp = nodeGyp();
  if (!gyp) throw new Error("npm's node-gyp was not found");
  say(`building it from source (librdkafka, several minutes on 2 cores; log: ${log})`);
  const build = (jobs) => {
    const out = fs.openSync(log, 'a');
    try {
      execFileSync(process.execPath, [gyp, 'rebuild', '-j', String(jobs)], {
        cwd: packageDir,
        stdio: ['ignore', out, out],
        env: {
          ...process.env,
          CKJS_LINKING: 'dynamic',
          ...(nodedir ? { npm_config_nodedir: nodedir } : {}),
          CXXFLAGS: `${process.env.CXXFLAGS ?? ''} -std=c++20`.trim(),
        },
      });
    } finally {
      fs.closeSync(out);
    }
  };
  const jobs = os.availableParallelism?.() ?? 2;
  try {
    build(jobs);
  } catch (error) {
    if (jobs === 1) throw error;
    // The package's makefile can start a target before librdkafka's configure step wrote config.h
    // ("No rule to make target '../deps/librdkafka/config.h'"): one job at a time has no such race.
    say(`the parallel build failed (${error.message.split('\n')[0]}); building again one job at a time`);
    build(1);
  }
}

/**
 * Makes require('@confluentinc/kafka-javascript') work. Returns whether it does; never throws.
 * `retry`: try again after an earlier failure (else it is tried once per install of the package).
 */
function installConfluentNative(root, { retry = false } = {}) {
  const packageDir = path.join(root, 'node_modules', '@confluentinc', 'kafka-javascript');
  if (!fs.existsSync(path.join(packageDir, 'package.json'))) return false;
  const buildDir = path.join(packageDir, 'build');
  if (fs.existsSync(path.join(buildDir, 'Release', 'confluent-kafka-javascript.node'))) return true;
  const failed = path.join(packageDir, '.ticksync-native-failed');
  const retryHint =
    'TICKSYNC_KAFKA_CLIENT=kafkajs (the default) works; retry: node scripts/bootstrap.js --retry-confluent';
  if (fs.existsSync(failed) && !retry) {
    if (process.env.TICKSYNC_KAFKA_CLIENT === 'confluent')
      say(`the confluent Kafka client is not installed (${fs.readFileSync(failed, 'utf8').trim()}); ${retryHint}`);
    return false;
  }

  const { version } = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
  const key = `confluent-kafka-javascript-${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}`;
  const cached = path.join(cacheRoot(), key);
  const log = path.join(cacheRoot(), `${key}.log`);
  fs.mkdirSync(cacheRoot(), { recursive: true });
  const attempts = [
    [
      `the cached build ${cached}`,
      () => {
        if (!fs.existsSync(path.join(cached, 'Release', 'confluent-kafka-javascript.node'))) throw new Error('none');
        copyBuild(cached, buildDir);
      },
    ],
    [
      'the prebuilt binary (download from GitHub)',
      () => {
        const preGyp = path.join(root, 'node_modules', '@mapbox', 'node-pre-gyp', 'bin', 'node-pre-gyp');
        const out = fs.openSync(log, 'a');
        try {
          execFileSync(process.execPath, [preGyp, 'install'], {
            cwd: packageDir,
            stdio: ['ignore', out, out],
            timeout: 120_000,
          });
        } finally {
          fs.closeSync(out);
        }
      },
    ],
    ['a build from source', () => buildFromSource(packageDir, log)],
  ];
  say('installing the native module of the confluent Kafka client (@confluentinc/kafka-javascript)');
  const errors = [];
  for (const [what, attempt] of attempts) {
    try {
      attempt();
      if (!loads(packageDir)) throw new Error('the module does not load');
      if (!what.startsWith('the cached')) {
        fs.rmSync(cached, { recursive: true, force: true });
        copyBuild(buildDir, cached);
      }
      fs.rmSync(failed, { force: true });
      say(`confluent Kafka client installed from ${what}`);
      return true;
    } catch (error) {
      errors.push(`${what}: ${String(error.message).split('\n')[0]}`);
      fs.rmSync(path.join(buildDir, 'Release'), { recursive: true, force: true });
    }
  }
  fs.writeFileSync(failed, `${errors.join('; ')}\n`);
  say(`could not install the confluent Kafka client (${errors.join('; ')}; log: ${log})`);
  say(retryHint);
  return false;
}

module.exports = { installConfluentNative };
