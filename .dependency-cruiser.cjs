// The layers of lib/, enforced: contract → worker → pool → call → snakepit-pool.ts (the public API),
// with the bridge server, the HTTP handler, the browser entry and the command line (cli/) beside them,
// and the operators and browser-safe values (chunk.ts, ndarray.ts, errors.ts, json-text.ts, argument-path.ts, quoted-input.ts, timer-limit.ts, typed-tools.ts)
// usable anywhere, a browser included. public-types.ts, the types of the public API, is usable by every
// layer, browser code included.
// telemetry/ (OpenTelemetry, optional) sits at the bottom: the layers report to it, it knows none of them.
/** @type {import('dependency-cruiser').IConfiguration} */
const layersAbove = {
  telemetry: '^lib/(contract|worker|pool|call|snakepit-pool|bridge-server|http|browser|cli)',
  contract: '^lib/(worker|pool|call|snakepit-pool|bridge-server|http|browser|cli)',
  worker: '^lib/(pool|call|snakepit-pool|bridge-server|http|browser|cli)',
  pool: '^lib/(call|snakepit-pool|bridge-server|http|browser|cli)',
  call: '^lib/(snakepit-pool|bridge-server|http|browser|cli)',
};
const browserSafeValues =
  '^lib/(chunk|ndarray|errors|json-text|argument-path|quoted-input|timer-limit|callback-refusal|typed-tools|public-types)\\.ts$';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Cycles hide which layer depends on which.',
      from: {},
      to: { circular: true },
    },
    ...Object.entries(layersAbove).map(([layer, above]) => ({
      name: `${layer}-stays-below`,
      severity: 'error',
      comment: `lib/${layer}/ may import only the layers below it and the browser-safe values.`,
      from: { path: `^lib/${layer}/` },
      to: { path: above },
    })),
    {
      name: 'operators-are-browser-safe',
      severity: 'error',
      comment: 'lib/operators/ runs in browsers: rxjs, the browser-safe values and its own files only.',
      from: { path: '^lib/operators/' },
      to: { pathNot: ['^lib/operators/', browserSafeValues, '^node_modules/rxjs/'] },
    },
    {
      name: 'browser-entry-is-browser-safe',
      severity: 'error',
      comment: 'lib/browser/ runs in browsers: rxjs, eventsource-parser, the operators and the browser-safe values only.',
      from: { path: '^lib/browser/' },
      to: {
        pathNot: ['^lib/browser/', '^lib/operators/', browserSafeValues, '^node_modules/(rxjs|eventsource-parser)/'],
      },
    },
    {
      name: 'arrow-entry-is-browser-safe',
      severity: 'error',
      comment:
        'lib/arrow/ (snakepit-rx/arrow) runs in browsers: rxjs, apache-arrow, the operators and the browser-safe values only; nothing else imports apache-arrow statically, since it is an optional peer dependency.',
      from: { path: '^lib/arrow/' },
      to: { pathNot: ['^lib/arrow/', '^lib/operators/', browserSafeValues, '^node_modules/(rxjs|apache-arrow|flatbuffers|tslib)/'] },
    },
    {
      name: 'apache-arrow-only-in-the-arrow-entry',
      severity: 'error',
      comment:
        'apache-arrow is an optional peer dependency: only lib/arrow/ imports it (lib/contract/arrow-ipc.ts loads it when Arrow data arrives).',
      from: { pathNot: '^lib/arrow/' },
      to: { path: '^node_modules/apache-arrow/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-node-in-browser-code',
      severity: 'error',
      comment: 'Browsers have no Node built-ins.',
      from: { path: ['^lib/operators/', '^lib/browser/', '^lib/arrow/', browserSafeValues] },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'browser-safe-values-import-nothing',
      severity: 'error',
      comment:
        'chunk.ts, ndarray.ts, errors.ts, json-text.ts, argument-path.ts, quoted-input.ts, timer-limit.ts, typed-tools.ts and public-types.ts (types only) are shared with browsers and every layer: they import nothing but each other.',
      from: { path: browserSafeValues },
      to: { pathNot: browserSafeValues },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|spec|bench|examples)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
