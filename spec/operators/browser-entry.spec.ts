import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const builtins = new Set(builtinModules);

/** Bundles for a browser, rxjs included, as a front end's bundler would. */
function bundleForBrowser(options: BuildOptions) {
  return build({
    absWorkingDir: root,
    bundle: true,
    platform: 'browser',
    format: 'iife',
    globalName: 'snakepitEntry',
    logLevel: 'silent',
    ...options,
    write: false,
    metafile: true,
  });
}

/** The inputs and imports of a bundle that a browser cannot have: Node built-ins, gRPC, protobuf. */
function nodeOnlyInputs(metafile: Metafile): string[] {
  const found: string[] = [];
  for (const [file, input] of Object.entries(metafile.inputs)) {
    if (/(^|\/)node_modules\/(@grpc|google-protobuf|protobufjs)\//.test(file)) found.push(file);
    for (const { path } of input.imports) {
      const name = path.replace(/^node:/, '');
      if (path.startsWith('node:') || builtins.has(name) || builtins.has(name.split('/')[0] ?? name)) {
        found.push(`${file} imports ${path}`);
      }
    }
  }
  return found;
}

const OPERATORS = [
  'batchChunks',
  'chunkData',
  'estimatePayloadBytes',
  'isNdArray',
  'isSyntheticFinal',
  'readProgress',
  'reduceProgress',
  'takeUntilFinal',
  'throttleProgress',
  'toChunkArray',
];

const ENTRIES = [
  {
    name: 'snakepit-rx/operators',
    file: 'lib/operators/index.ts',
    allowed: /^lib\/operators\/[\w-]+\.ts$|^lib\/(chunk|ndarray|quoted-input)\.ts$|^node_modules\/(rxjs|tslib)\//,
    exports: OPERATORS,
  },
  {
    name: 'snakepit-rx/browser',
    file: 'lib/browser/index.ts',
    allowed:
      /^lib\/(browser|operators)\/[\w-]+\.ts$|^lib\/(chunk|ndarray|errors|json-text|argument-path|quoted-input|timer-limit|callback-refusal|public-types)\.ts$|^node_modules\/(rxjs|tslib|eventsource-parser)\//,
    exports: [...OPERATORS, 'SnakepitError', 'SnakepitHttpError', 'createHttpClient', 'isSnakepitError'],
  },
];

describe.each(ENTRIES)('the $name entry point', ({ file, allowed, exports }) => {
  let metafile: Metafile;
  let code: string;

  beforeAll(async () => {
    const result = await bundleForBrowser({ entryPoints: [file] });
    metafile = result.metafile;
    code = result.outputFiles[0]?.text ?? '';
  });

  it('should bundle for the browser without Node built-ins, gRPC or protobuf', () => {
    expect(nodeOnlyInputs(metafile)).toEqual([]);
  });

  it('should pull in only its own files, the browser-safe values, rxjs and its tslib (and eventsource-parser for the client)', () => {
    const inputs = Object.keys(metafile.inputs);

    expect(inputs.filter((input) => !allowed.test(input))).toEqual([]);
    expect(inputs).toContain(file);
    expect(inputs).toContain('lib/chunk.ts');
    expect(inputs.some((input) => input.startsWith('node_modules/rxjs/'))).toBe(true);
  });

  it('should run in a context that has no Node globals', () => {
    const context = vm.createContext({});
    const entry = vm.runInContext(`${code}; snakepitEntry`, context) as Record<string, unknown>;

    expect(Object.keys(entry).sort()).toEqual([...exports].sort());
    expect(vm.runInContext(`typeof process + typeof require + typeof Buffer`, context)).toBe('undefinedundefinedundefined');
    expect(vm.runInContext(`snakepitEntry.estimatePayloadBytes({ step: 1 })`, context)).toBe(10);
    expect(vm.runInContext(`snakepitEntry.readProgress({ step: 1, total: 4 })`, context)).toMatchObject({
      current: 1,
      total: 4,
    });
  });
});

describe('the snakepit-rx/arrow entry point', () => {
  it('should bundle for the browser with apache-arrow, without Node built-ins, gRPC or protobuf', async () => {
    const { metafile, outputFiles } = await bundleForBrowser({ entryPoints: ['lib/arrow/index.ts'] });
    const inputs = Object.keys(metafile.inputs);

    expect(nodeOnlyInputs(metafile)).toEqual([]);
    expect(
      inputs.filter(
        (input) =>
          !/^lib\/(arrow|operators)\/[\w-]+\.ts$|^lib\/chunk\.ts$|^node_modules\/(rxjs|tslib|apache-arrow|flatbuffers)\//.test(input),
      ),
    ).toEqual([]);
    const entry = vm.runInContext(`${outputFiles[0]?.text ?? ''}; snakepitEntry`, vm.createContext({ TextDecoder, TextEncoder })) as Record<
      string,
      unknown
    >;
    // Browsers have TextDecoder and TextEncoder, which apache-arrow uses; Node-only globals stay absent.
    expect(Object.keys(entry)).toEqual(['toArrowTable']);
  });
});

describe('the browser-safety checks themselves', () => {
  it('should see a Node built-in fail the browser build', async () => {
    await expect(bundleForBrowser({ stdin: { contents: "import 'node:events';", resolveDir: root } })).rejects.toThrow(
      /Could not resolve "node:events"/,
    );
  });

  it('should flag gRPC code and Node built-ins in a bundle', async () => {
    const result = await build({
      absWorkingDir: root,
      stdin: { contents: "import '@grpc/grpc-js';", resolveDir: root },
      bundle: true,
      platform: 'node',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const found = nodeOnlyInputs(result.metafile);

    expect(found.some((entry) => entry.startsWith('node_modules/@grpc/grpc-js/'))).toBe(true);
    expect(found.some((entry) => / imports (node:)?(http2|net|tls)$/.test(entry))).toBe(true);
  });
});
