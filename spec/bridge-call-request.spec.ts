import { describe, expect, it } from 'vitest';
import { toPooledRequest } from '../lib/bridge-server/pooled-request.js';
import { EncodedArguments } from '../lib/call/tool-arguments.js';
import { pb } from '../lib/contract/bridge-connection.js';
import type { ToolInfo } from '../lib/index.js';
import { resolvePoolOptions } from '../lib/pool/pool-options.js';

const tools: ToolInfo[] = [{ name: 'count', description: '', supportsStreaming: true, parameters: [] }];
const { limits } = resolvePoolOptions({ adapter: 'spec.Adapter' });
const request = new pb.ExecuteToolRequest({ tool_name: 'count', arguments: Buffer.from('{"n": 1.0}'), session_id: 's' });

describe('a bridge request turned into a pool call', () => {
  it("gets what is left of the client's deadline as its timeout", () => {
    const { options } = toPooledRequest(request, { tools, limits, streaming: true, deadline: Date.now() + 5_000, fallbackTimeout: 60_000 });
    expect(options.timeout).toBeGreaterThan(4_000);
    expect(options.timeout).toBeLessThanOrEqual(5_000);
    expect(options.sessionId).toBe('s');
  });

  it('gets the fallback timeout without a deadline, and fails at once past it', () => {
    expect(toPooledRequest(request, { tools, limits, streaming: true, deadline: Infinity, fallbackTimeout: 60_000 }).options.timeout).toBe(
      60_000,
    );
    expect(() =>
      toPooledRequest(request, { tools, limits, streaming: true, deadline: Date.now() - 1, fallbackTimeout: undefined }),
    ).toThrow(expect.objectContaining({ code: 'timeout' }));
  });

  it("passes the client's arguments on byte for byte", () => {
    const { args } = toPooledRequest(request, { tools, limits, streaming: true, deadline: Infinity, fallbackTimeout: undefined });
    expect(args).toBeInstanceOf(EncodedArguments);
    expect(args instanceof EncodedArguments && Buffer.from(args.json).toString()).toBe('{"n": 1.0}');
  });
});
