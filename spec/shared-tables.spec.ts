/**
 * Tables that TypeScript and Python each keep once, checked against each
 * other: a code or an offset on which the languages disagree fails here.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { alignmentPadding, varintSize } from '../lib/contract/alignment.js';
import { ERROR_CODES } from '../lib/errors.js';
import { resolvePython, workerPythonPath } from '../lib/worker/python-environment.js';

/** What a Python expression evaluates to, through JSON. */
function python(expression: string, imports: string): unknown {
  const script = `import json\n${imports}\nprint(json.dumps(${expression}))`;
  const output = execFileSync(resolvePython(undefined), ['-c', script], {
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: workerPythonPath([]) },
  });
  return JSON.parse(output);
}

describe('error codes and their gRPC statuses', () => {
  it("are the same in Python's table as in the codes lib/errors.ts marks shared; the others are not in Python", () => {
    const pythonStatuses = python(
      '{code: status.name for code, status in _STATUS_BY_CODE.items()}',
      'from snakepit_bridge.errors import _STATUS_BY_CODE',
    );
    const shared = Object.fromEntries(
      Object.entries(ERROR_CODES).flatMap(([code, info]) => (info.scope === 'shared' ? [[code, info.status]] : [])),
    );
    expect(pythonStatuses).toEqual(shared);
  });
});

describe('alignment padding', () => {
  // Every residue many times over, and offsets around each varint length.
  const offsets = [
    ...Array.from({ length: 2048 }, (_, offset) => offset),
    ...[0x80, 0x4000, 0x200000, 0x10000000, 2 ** 35].flatMap((boundary) => Array.from({ length: 32 }, (_, i) => boundary - 16 + i)),
  ];

  it('has the same length in TypeScript and Python at every offset', () => {
    const fromPython = python(
      `[len(alignment_padding(offset)) for offset in ${JSON.stringify(offsets)}]`,
      'from snakepit_bridge.alignment import alignment_padding',
    );
    expect(fromPython).toEqual(offsets.map((offset) => alignmentPadding(offset).byteLength));
  });

  it('counts varint sizes as Python encodes them', () => {
    const values = [0, 1, 127, 128, 300, 16_383, 16_384, 2 ** 21 - 1, 2 ** 21, 2 ** 28, 2 ** 35, 2 ** 49, 2 ** 53 - 1];
    const fromPython = python(`[len(varint(value)) for value in ${JSON.stringify(values)}]`, 'from snakepit_bridge.wire import varint');
    expect(fromPython).toEqual(values.map(varintSize));
  });
});
