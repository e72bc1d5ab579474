/**
 * The import graph's rules (docs/ARCHITECTURE.md, "Layout"), checked by `npm test` before jest and by
 * `npm run check-imports`. Type-only imports count: a layer that names another's types depends on it.
 */
const ABOVE_LIB = '^(activities|workflows|workers|scripts|deploy|dashboard|local-aws|stack|iam|test|bench)/';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import circle: modules that cannot be understood, tested or loaded one without the other.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'activities-not-to-workflows',
      comment: 'Activities run outside the workflow sandbox: what they share with workflows lives in lib/contracts/.',
      severity: 'error',
      from: { path: '^activities/' },
      to: { path: '^workflows/' },
    },
    {
      name: 'deploy-not-to-scripts',
      comment: 'The template is built from lib/ (lib/provisioning.ts), not from the scripts that run on the stack.',
      severity: 'error',
      from: { path: '^deploy/' },
      to: { path: '^scripts/' },
    },
    {
      name: 'lib-not-upward',
      comment: 'lib/ is the bottom layer: everything imports it, it imports nothing of the project above it.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: ABOVE_LIB },
    },
    {
      name: 'bench-only-from-bench-script',
      comment:
        'Benchmarks are run by `npm run bench` (scripts/bench.ts) and by nothing else: no test, script or layer uses them.',
      severity: 'error',
      from: { pathNot: '^(bench/|scripts/bench\\.ts$)' },
      to: { path: '^bench/' },
    },
    {
      name: 'scripts-not-to-scripts',
      comment:
        'A script (npm run x) builds on lib/ and the shared CLI helpers in scripts/cli.ts, never on another script: ' +
        'what two commands share (workflow inputs and ids, option parsers) lives in lib/ or scripts/cli.ts.',
      severity: 'error',
      // The set-up's plain .js helpers (bootstrap, the native build) run before npm install and are not commands.
      from: { path: '^scripts/.+\\.ts$' },
      to: { path: '^scripts/', pathNot: '^scripts/cli\\.ts$' },
    },
    {
      name: 'hour-keys-pure',
      comment:
        'lib/hour-keys.ts names the lake hours for workflow code too: it imports nothing (no Node built-in, no package, ' +
        'no project module that could bring one into the workflow bundle).',
      severity: 'error',
      from: { path: '^lib/hour-keys\\.ts$' },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|\\.stack|data)/' },
    tsPreCompilationDeps: true,
  },
};
