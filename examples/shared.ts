/**
 * What every example needs to start a pool on one of the adapters in
 * `examples/adapters/`, and to know whether it runs as a script.
 */
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { PoolOptions } from 'snakepit-rx';

/** The directory the workers import the example adapters from (the pool's `pythonPath`). */
export const adaptersDir = fileURLToPath(new URL('./adapters/', import.meta.url));

/** The example adapter classes, as `module.Class`. */
export const adapters = {
  /** The guide's "Enabling Streaming" adapter: `stream_progress`. */
  my: 'my_adapter.MyAdapter',
  /** The guide's bare-method snippets: `stream_numbers`, `stream_items`, `train_model`, `generate_dataset`, `my_streaming_tool`. */
  guide: 'guide_adapter.GuideAdapter',
  /** The guide's complete example: `train_with_progress`. */
  mlStreaming: 'ml_streaming_adapter.MLStreamingAdapter',
  /** Tools the guide's consumers call but the guide does not define: `process_items`, `may_fail`, `infinite_stream`. */
  consumer: 'consumer_adapter.ConsumerAdapter',
} as const;

/**
 * Where the TypeScript describing each example adapter's tools is generated,
 * by `npx snakepit-rx types <adapter> --python-path examples/adapters --out <file>`
 * (`npm run examples:types` regenerates them all; the test suite checks them).
 */
export const generatedTypes: Readonly<Record<keyof typeof adapters, string>> = {
  my: 'examples/generated/my-adapter.ts',
  guide: 'examples/generated/guide-adapter.ts',
  mlStreaming: 'examples/generated/ml-streaming-adapter.ts',
  consumer: 'examples/generated/consumer-adapter.ts',
};

/** Options for a one-worker pool on an example adapter: one worker is all an example needs. */
export function examplePoolOptions(adapter: string, overrides: Partial<PoolOptions> = {}): PoolOptions {
  return { adapter, size: 1, pythonPath: adaptersDir, ...overrides };
}

/** True when the module at `moduleUrl` is the script being run (`tsx examples/x.ts`), not an import. */
export function isMain(moduleUrl: string): boolean {
  const script = process.argv[1];
  return script !== undefined && pathToFileURL(resolve(script)).href === moduleUrl;
}
