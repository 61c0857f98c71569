import { describe, expect, it } from 'vitest';
import { estimatePayloadBytes } from 'snakepit-rx/operators';

describe('estimatePayloadBytes', () => {
  it('should count nothing for null and undefined', () => {
    expect(estimatePayloadBytes(null)).toBe(0);
    expect(estimatePayloadBytes(undefined)).toBe(0);
  });

  it('should count binary data by its byteLength', () => {
    expect(estimatePayloadBytes(new Uint8Array(7))).toBe(7);
    expect(estimatePayloadBytes(new Float64Array(3))).toBe(24);
    expect(estimatePayloadBytes(new DataView(new ArrayBuffer(16), 4, 8))).toBe(8);
    expect(estimatePayloadBytes(new ArrayBuffer(5))).toBe(5);
  });

  it('should count an array decoded from numpy by the byteLength of its data', () => {
    expect(estimatePayloadBytes({ dtype: 'float32', shape: [2, 3], data: new Float32Array(6) })).toBe(24);
  });

  it('should count a JSON value by the UTF-8 length of its JSON text', () => {
    expect(estimatePayloadBytes({ step: 1, total: 10 })).toBe('{"step":1,"total":10}'.length);
    expect(estimatePayloadBytes('abc')).toBe(5);
    expect(estimatePayloadBytes(42)).toBe(2);
    expect(estimatePayloadBytes(['é'])).toBe(6);
    expect(estimatePayloadBytes('€')).toBe(5);
    expect(estimatePayloadBytes('😀')).toBe(6);
  });

  it('should count binary data nested in a JSON value by its byteLength', () => {
    // '{"name":"x","pixels":null}' is 26 bytes, plus 1000 bytes of pixels.
    expect(estimatePayloadBytes({ name: 'x', pixels: new Uint8Array(1000) })).toBe(26 + 1000);
  });

  it('should count a nested Buffer by its byteLength, not by the JSON its toJSON makes', () => {
    // Buffer.prototype.toJSON turns 1000 bytes into {"type":"Buffer","data":[0,0,...]}, about 2000 bytes of text.
    expect(estimatePayloadBytes({ name: 'x', pixels: Buffer.alloc(1000) })).toBe(26 + 1000);
    expect(estimatePayloadBytes([Buffer.alloc(10)])).toBe('[null]'.length + 10);
  });

  it('should count 0 for a value JSON cannot serialise, rather than throw', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(estimatePayloadBytes(cyclic)).toBe(0);
    expect(estimatePayloadBytes({ big: 10n })).toBe(0);
  });
});
