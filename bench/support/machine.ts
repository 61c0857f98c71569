import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { python, repoRoot } from './paths.js';

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly platform: string;
  readonly node: string;
  readonly python: string;
  readonly grpcio: string;
  readonly protobuf: string;
  readonly numpy: string;
  readonly grpcJs: string;
  readonly pythonShell: string;
}

function packageVersion(name: string): string {
  try {
    // Read directly: not every package exports its package.json.
    const manifest = join(repoRoot, 'node_modules', name, 'package.json');
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function pythonVersions(): Record<string, string> {
  const script = [
    'import json, sys, grpc, google.protobuf',
    'try:\n import numpy; n = numpy.__version__\nexcept ImportError:\n n = "absent"',
    'print(json.dumps({"python": sys.version.split()[0], "grpcio": grpc.__version__, "protobuf": google.protobuf.__version__, "numpy": n}))',
  ].join('\n');
  return JSON.parse(execFileSync(python, ['-c', script], { encoding: 'utf8' })) as Record<string, string>;
}

export function machineInfo(): MachineInfo {
  const versions = pythonVersions();
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    platform: `${process.platform} ${process.arch}`,
    node: process.version,
    python: versions['python'] ?? 'unknown',
    grpcio: versions['grpcio'] ?? 'unknown',
    protobuf: versions['protobuf'] ?? 'unknown',
    numpy: versions['numpy'] ?? 'unknown',
    grpcJs: packageVersion('@grpc/grpc-js'),
    pythonShell: packageVersion('python-shell'),
  };
}
