// The layers of lib/, enforced: contract → worker → pool → call → snakepit-pool.ts (the public API),
// with the bridge server, the HTTP handler and the browser entry beside them, and the operators
// and browser-safe values (chunk.ts, ndarray.ts, errors.ts) usable anywhere, a browser included.
// public-types.ts, the types of the public API, is usable by every layer, browser code included.
// telemetry/ (OpenTelemetry, optional) sits at the bottom: the layers report to it, it knows none of them.
/** @type {import('dependency-cruiser').IConfiguration} */
const layersAbove = {
  telemetry: '^lib/(contract|worker|pool|call|snakepit-pool|bridge-server|http|browser)',
  contract: '^lib/(worker|pool|call|snakepit-pool|bridge-server|http|browser)',
  worker: '^lib/(pool|call|snakepit-pool|bridge-server|http|browser)',
  pool: '^lib/(call|snakepit-pool|bridge-server|http|browser)',
  call: '^lib/(snakepit-pool|bridge-server|http|browser)',
};

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
      to: { pathNot: ['^lib/operators/', '^lib/(chunk|ndarray|errors|public-types)\\.ts$', '^node_modules/rxjs/'] },
    },
    {
      name: 'browser-entry-is-browser-safe',
      severity: 'error',
      comment: 'lib/browser/ runs in browsers: rxjs, eventsource-parser, the operators and the browser-safe values only.',
      from: { path: '^lib/browser/' },
      to: {
        pathNot: [
          '^lib/browser/',
          '^lib/operators/',
          '^lib/(chunk|ndarray|errors|public-types)\\.ts$',
          '^node_modules/(rxjs|eventsource-parser)/',
        ],
      },
    },
    {
      name: 'no-node-in-browser-code',
      severity: 'error',
      comment: 'Browsers have no Node built-ins.',
      from: { path: ['^lib/operators/', '^lib/browser/', '^lib/(chunk|ndarray|errors|public-types)\\.ts$'] },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'browser-safe-values-import-nothing',
      severity: 'error',
      comment:
        'chunk.ts, ndarray.ts, errors.ts and public-types.ts (types only) are shared with browsers and every layer: they import nothing but each other.',
      from: { path: '^lib/(chunk|ndarray|errors|public-types)\\.ts$' },
      to: { pathNot: '^lib/(chunk|ndarray|errors|public-types)\\.ts$' },
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
