// Regenerates the code derived from proto/bridge.proto:
//   generated/bridge.ts                         (protoc from the npm `protoc` package + protoc-gen-ts)
//   worker-python/snakepit_bridge/proto/bridge_pb2{,_grpc}.py(i)   (grpcio-tools, from .venv)
// With --check, generates into a temporary directory and fails when the
// committed files differ, so that a stale contract cannot land.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
const check = process.argv.includes('--check');

const targets = [
  { generatedDir: 'generated', committedDir: join(root, 'generated') },
  { generatedDir: 'snakepit_bridge/proto', committedDir: join(root, 'worker-python/snakepit_bridge/proto') },
];

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8' });
  if (result.error) throw new Error(`${command}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${result.stderr}`);
}

// protoc-gen-ts emits code that predates `noImplicitOverride` and
// `noUncheckedIndexedAccess`; its types are still used, its body is not ours
// to check.
const TS_HEADER = '// @ts-nocheck\n';

function generate(out) {
  mkdirSync(join(out, 'generated'), { recursive: true });
  run(process.execPath, [
    require.resolve('protoc/protoc.cjs'),
    `--plugin=protoc-gen-ts=${require.resolve('protoc-gen-ts/protoc-gen-ts.js')}`,
    `--ts_out=${join(out, 'generated')}`,
    '--ts_opt=target=node',
    '-Iproto',
    'proto/bridge.proto',
  ]);
  const tsFile = join(out, 'generated', 'bridge.ts');
  writeFileSync(tsFile, TS_HEADER + readFileSync(tsFile, 'utf8'));
  const python = join(root, '.venv', 'bin', 'python');
  if (!existsSync(python)) throw new Error('no .venv: run `npm install` first');
  run(python, [
    '-m',
    'grpc_tools.protoc',
    '-Isnakepit_bridge/proto=proto',
    `--python_out=${out}`,
    `--pyi_out=${out}`,
    `--grpc_python_out=${out}`,
    'snakepit_bridge/proto/bridge.proto',
  ]);
}

const out = mkdtempSync(join(tmpdir(), 'snakepit-proto-'));
try {
  generate(out);
  const stale = [];
  for (const { generatedDir, committedDir } of targets) {
    for (const name of readdirSync(join(out, generatedDir))) {
      const fresh = join(out, generatedDir, name);
      const committed = join(committedDir, name);
      if (check) {
        if (!existsSync(committed) || readFileSync(committed, 'utf8') !== readFileSync(fresh, 'utf8')) stale.push(committed);
      } else {
        mkdirSync(committedDir, { recursive: true });
        copyFileSync(fresh, committed);
      }
    }
  }
  if (stale.length > 0) {
    console.error(`Generated code is stale; run \`npm run proto\`:\n  ${stale.join('\n  ')}`);
    process.exitCode = 1;
  } else if (check) {
    console.log('Generated code is up to date.');
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
