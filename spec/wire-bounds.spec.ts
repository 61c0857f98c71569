/** The wire-format walk that guards google-protobuf (lib/contract/wire-bounds.ts). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessage, pb } from '../lib/contract/bridge-connection.js';
import { checkWireBounds, MalformedMessage, WIRE_SCHEMAS, type WireMessageName } from '../lib/contract/wire-bounds.js';

const text = fc.string({ maxLength: 40 });
const bytes = fc.uint8Array({ maxLength: 64 });
const arrayInfo = fc.record({ dtype: text, shape: fc.array(fc.integer({ min: 0, max: 2 ** 40 }), { maxLength: 4 }) });
const encoding = fc.constantFrom(0, 1, 2, 3, 4);
const attachments = fc.array(
  fc
    .record({ padding: bytes, data: bytes, encoding, array: arrayInfo, chunk: fc.nat(), placeholder: text })
    .map((data) => new pb.Attachment({ ...data, array: new pb.ArrayInfo(data.array) })),
  { maxLength: 3 },
);
const toolChunk = fc.record({
  chunk_id: text,
  data: bytes,
  is_final: fc.boolean(),
  metadata: fc.dictionary(text, text, { maxKeys: 3 }).map((entries) => new Map(Object.entries(entries))),
  encoding,
  array: arrayInfo.map((info) => new pb.ArrayInfo(info)),
  attachments,
});

const executeToolRequest = fc
  .record({
    tool_name: text,
    arguments: bytes,
    session_id: text,
    call_id: text,
    host_tools: fc.array(text, { maxLength: 3 }),
    attachments,
  })
  .map((data) => new pb.ExecuteToolRequest(data));
const executeToolResponse = fc
  .record({ padding: bytes, result: bytes, encoding, array: arrayInfo, attachments })
  .map((data) => new pb.ExecuteToolResponse({ ...data, array: new pb.ArrayInfo(data.array) }));
const chunkBatch = fc
  .record({ padding: bytes, json_run: bytes, chunks: fc.array(toolChunk, { maxLength: 4 }), attachments })
  .map((data) => new pb.ChunkBatch({ ...data, chunks: data.chunks.map((chunk) => new pb.ToolChunk(chunk)) }));

/** A fully populated message of every type of the contract, from random field values. */
const MESSAGES: { [Name in WireMessageName]: fc.Arbitrary<{ serialize(): Uint8Array }> } = {
  PingRequest: fc.record({ message: text }).map((data) => new pb.PingRequest(data)),
  PingResponse: fc.record({ message: text, worker_id: text, pid: fc.nat(), capacity: fc.nat() }).map((data) => new pb.PingResponse(data)),
  ListToolsRequest: fc.constant(new pb.ListToolsRequest()),
  ListToolsResponse: fc
    .record({
      adapter: text,
      tools: fc.array(
        fc.record({
          name: text,
          description: text,
          supports_streaming: fc.boolean(),
          parameters_schema_json: text,
          result_schema_json: text,
          parameters: fc.array(
            fc.record({ name: text, type: text, required: fc.boolean(), default_json: text }).map((data) => new pb.ParameterSpec(data)),
            { maxLength: 3 },
          ),
        }),
        { maxLength: 3 },
      ),
    })
    .map((data) => new pb.ListToolsResponse({ adapter: data.adapter, tools: data.tools.map((tool) => new pb.ToolSpec(tool)) })),
  ExecuteToolRequest: executeToolRequest,
  ExecuteToolResponse: executeToolResponse,
  ToolChunk: toolChunk.map((data) => new pb.ToolChunk(data)),
  ChunkBatch: chunkBatch,
  HostMessage: fc.oneof(
    executeToolRequest.map((request) => new pb.HostMessage({ request })),
    fc
      .record({ id: fc.nat(), result: bytes, error: fc.record({ message: text, type: text }) })
      .map((data) => new pb.HostMessage({ host_result: new pb.HostToolResult({ ...data, error: new pb.HostToolFailure(data.error) }) })),
  ),
  ToolMessage: fc.oneof(
    chunkBatch.map((batch) => new pb.ToolMessage({ batch })),
    executeToolResponse.map((result) => new pb.ToolMessage({ result })),
    fc.record({ id: fc.nat(), name: text, arguments: bytes }).map((data) => new pb.ToolMessage({ host_call: new pb.HostToolCall(data) })),
  ),
  AwaitCallRequest: fc.record({ call_id: text, timeout_ms: fc.nat() }).map((data) => new pb.AwaitCallRequest(data)),
  AwaitCallResponse: fc.record({ ended: fc.boolean() }).map((data) => new pb.AwaitCallResponse(data)),
  ErrorDetail: fc
    .record({ code: text, message: text, python_type: text, python_traceback: text, hint: text, worker_id: text })
    .map((data) => new pb.ErrorDetail(data)),
};
const NAMES = Object.keys(WIRE_SCHEMAS) as WireMessageName[];

describe('checkWireBounds', () => {
  it('knows every message of the contract', () => {
    const generated = Object.entries(pb)
      .filter(([, value]) => typeof value === 'function' && 'deserialize' in value)
      .map(([name]) => name)
      // Messages that only travel inside others; their parents' schemas hold them.
      .filter(
        (name) =>
          !['ToolSpec', 'ParameterSpec', 'ArrayInfo', 'Attachment', 'HostToolCall', 'HostToolResult', 'HostToolFailure'].includes(name),
      );
    expect(new Set(NAMES)).toEqual(new Set(generated));
  });

  it.each(NAMES)('accepts every %s the generated code writes, and decodes it unchanged', (name) => {
    fc.assert(
      fc.property(MESSAGES[name], (message) => {
        const encoded = message.serialize();
        expect(() => checkWireBounds(encoded, WIRE_SCHEMAS[name])).not.toThrow();
        expect(decodeMessage(name, encoded).serialize()).toEqual(encoded);
      }),
      { numRuns: 100 },
    );
  });

  it.each(NAMES)('refuses a truncated %s at once, or decodes it without reading past the end', (name) => {
    fc.assert(
      fc.property(MESSAGES[name], fc.nat(), (message, cut) => {
        const encoded = message.serialize();
        if (encoded.byteLength === 0) return;
        const truncated = encoded.subarray(0, cut % encoded.byteLength);
        try {
          decodeMessage(name, truncated);
        } catch (error) {
          expect(error).toBeInstanceOf(MalformedMessage);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('refuses any length past the buffer, at once, however large', () => {
    const started = performance.now();
    for (const claimed of [2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 35, 2 ** 53]) {
      const varint: number[] = [];
      for (let rest = claimed; ; rest = Math.floor(rest / 128)) {
        if (rest < 128) {
          varint.push(rest);
          break;
        }
        varint.push((rest % 128) | 0x80);
      }
      for (const name of ['ExecuteToolRequest', 'ChunkBatch', 'ErrorDetail'] as const) {
        expect(() => decodeMessage(name, Uint8Array.from([0x12, ...varint]))).toThrow(/claims \d+ bytes/);
      }
    }
    // A 4 GiB string nested in a submessage: a chunk's metadata entry.
    const nested = Uint8Array.from([0x1a, 0x08, 0x22, 0x06, 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(() => decodeMessage('ChunkBatch', nested)).toThrow(MalformedMessage);
    expect(performance.now() - started).toBeLessThan(100);
  });

  it('refuses a known field sent with another wire type, which google-protobuf would misread as a length', () => {
    // tool_name (field 1) as a varint of 2^32 - 1: read as a string, it would claim 4 GiB.
    expect(() => decodeMessage('ExecuteToolRequest', Uint8Array.from([0x08, 0xff, 0xff, 0xff, 0xff, 0x0f]))).toThrow(
      'field 1 has wire type 0, expected 2',
    );
    // ArrayInfo.shape sent unpacked.
    expect(() => decodeMessage('ToolChunk', Uint8Array.from([0x32, 0x02, 0x10, 0x05]))).toThrow('field 2 has wire type 0, expected 2');
    // PingResponse.capacity as a length-delimited field.
    expect(() => decodeMessage('PingResponse', Uint8Array.from([0x22, 0x01, 0x04]))).toThrow('field 4 has wire type 2, expected 0');
  });

  it('refuses unterminated varints, tag 0 and wire types the contract never uses', () => {
    for (const malformed of [[0x08, 0x80], [0x08, ...Array(11).fill(0x80), 0x01], [0x00, 0x01], [0x0b], [0x0e], [0x0f]]) {
      expect(() => decodeMessage('PingRequest', Uint8Array.from(malformed))).toThrow(MalformedMessage);
    }
  });

  it('skips unknown fields of every wire type within bounds, as a newer peer may send them', () => {
    // Field 15 as varint, fixed64, delimited and fixed32, then message = "hi".
    const message = Uint8Array.from([0x78, 0x01, 0x79, ...Array(8).fill(0), 0x7a, 0x01, 0x00, 0x7d, 0, 0, 0, 0, 0x0a, 0x02, 0x68, 0x69]);
    expect(decodeMessage('PingRequest', message).message).toBe('hi');
    expect(() => decodeMessage('PingRequest', Uint8Array.from([0x79, 0, 0, 0]))).toThrow(MalformedMessage);
  });
});
