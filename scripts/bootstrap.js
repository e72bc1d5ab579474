#!/usr/bin/env node
// Runs before every npm script that needs dependencies: npm scripts run without
// node_modules, so a fresh clone installs itself here. Plain Node, no packages.
'use strict';
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { installConfluentNative } = require('./confluent-native');

if (process.argv.includes('--help')) {
  process.stdout.write(
    'Usage: node scripts/bootstrap.js [--retry-confluent]\n\n' +
      'Installs the npm packages (npm ci) when package-lock.json changed, then the native module of the\n' +
      'confluent Kafka client (TICKSYNC_KAFKA_CLIENT=confluent). Every npm script runs it first.\n\n' +
      '  --retry-confluent  try the confluent client again after a failed install\n',
  );
  process.exit(0);
}

const root = path.resolve(__dirname, '..');
const lock = path.join(root, 'package-lock.json');
const stamp = path.join(root, 'node_modules', '.ticksync-lock-sha256');
const digest = crypto.createHash('sha256').update(fs.readFileSync(lock)).digest('hex');

let installed = '';
try {
  installed = fs.readFileSync(stamp, 'utf8').trim();
} catch {
  // no stamp: never installed by this script
}
if (installed !== digest) {
  process.stderr.write('bootstrap: installing npm packages from package-lock.json (npm ci)\n');
  const npm = process.env.npm_execpath ? [process.execPath, [process.env.npm_execpath]] : ['npm', []];
  try {
    execFileSync(npm[0], [...npm[1], 'ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  } catch (error) {
    process.stderr.write(`bootstrap: npm ci failed (${error.status ?? error.message})\n`);
    process.exit(1);
  }
  fs.writeFileSync(stamp, `${digest}\n`);
}

// The confluent client is optional: its failure is reported, never fatal.
installConfluentNative(root, { retry: process.argv.includes('--retry-confluent') });
