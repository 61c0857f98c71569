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
    globalName: 'snakepitOperators',
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

describe('snakepit-rx/operators entry point', () => {
  let metafile: Metafile;
  let code: string;

  beforeAll(async () => {
    const result = await bundleForBrowser({ entryPoints: ['lib/operators/index.ts'] });
    metafile = result.metafile;
    code = result.outputFiles[0]?.text ?? '';
  });

  it('should bundle for the browser without Node built-ins, gRPC or protobuf', () => {
    expect(nodeOnlyInputs(metafile)).toEqual([]);
  });

  it('should pull in only its own files, lib/chunk.ts, lib/ndarray.ts, rxjs and its tslib', () => {
    const inputs = Object.keys(metafile.inputs);
    const outside = inputs.filter(
      (file) => !/^lib\/operators\/[\w-]+\.ts$|^lib\/(chunk|ndarray)\.ts$|^node_modules\/(rxjs|tslib)\//.test(file),
    );

    expect(outside).toEqual([]);
    expect(inputs).toContain('lib/operators/index.ts');
    expect(inputs).toContain('lib/chunk.ts');
    expect(inputs.some((file) => file.startsWith('node_modules/rxjs/'))).toBe(true);
  });

  it('should run in a context that has no Node globals', () => {
    const context = vm.createContext({});
    const operators = vm.runInContext(`${code}; snakepitOperators`, context) as Record<string, unknown>;

    expect(Object.keys(operators).sort()).toEqual([
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
    ]);
    expect(vm.runInContext(`typeof process + typeof require + typeof Buffer`, context)).toBe('undefinedundefinedundefined');
    expect(vm.runInContext(`snakepitOperators.estimatePayloadBytes({ step: 1 })`, context)).toBe(10);
    expect(vm.runInContext(`snakepitOperators.readProgress({ step: 1, total: 4 })`, context)).toMatchObject({
      current: 1,
      total: 4,
    });
  });

  describe('the checks themselves', () => {
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
});
