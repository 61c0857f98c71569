import { describe, expect, it } from 'vitest';
import { timeoutFor, toPooledRequest } from '../lib/bridge-server/pooled-request.js';
import { EncodedArguments } from '../lib/call/tool-arguments.js';
import { pb } from '../lib/contract/bridge-connection.js';
import type { ToolInfo } from '../lib/index.js';
import { resolvePoolOptions } from '../lib/pool/pool-options.js';

const tools: ToolInfo[] = [
  { name: 'count', description: '', supportsStreaming: true, parameters: [], parametersSchema: {}, resultSchema: {} },
];
const { limits } = resolvePoolOptions({ adapter: 'spec.Adapter' });
const request = new pb.ExecuteToolRequest({ tool_name: 'count', arguments: Buffer.from('{"n": 1.0}'), session_id: 's' });

describe('a bridge request turned into a pool call', () => {
  it("gets what is left of the client's deadline as its timeout, up to the server's callTimeout", () => {
    const timeout = timeoutFor(Date.now() + 5_000, 60_000);
    expect(timeout).toBeGreaterThan(4_000);
    expect(timeout).toBeLessThanOrEqual(5_000);
    // A later deadline cannot extend the ceiling.
    expect(timeoutFor(Date.now() + 3_600_000, 60_000)).toBe(60_000);
    expect(timeoutFor(new Date(Date.now() + 3_600_000), Infinity)).toBeGreaterThan(3_599_000);
  });

  it('gets the ceiling without a deadline, and fails at once past the deadline', () => {
    expect(timeoutFor(Infinity, 60_000)).toBe(60_000);
    expect(() => timeoutFor(Date.now() - 1, 60_000)).toThrow(expect.objectContaining({ code: 'timeout' }));
  });

  it("passes the client's arguments on byte for byte, and its session", () => {
    const pooled = toPooledRequest(request, { tools, limits, streaming: true });
    expect(pooled.args).toBeInstanceOf(EncodedArguments);
    expect(pooled.args instanceof EncodedArguments && Buffer.from(pooled.args.json).toString()).toBe('{"n": 1.0}');
    expect(pooled.sessionId).toBe('s');
  });
});
