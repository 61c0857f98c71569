import { describe, expect, it } from 'vitest';
import { pb } from '../lib/contract/bridge-connection.js';
import { toToolInfo } from '../lib/contract/tool-info.js';

function spec(parametersSchema: string, resultSchema = '') {
  return new pb.ToolSpec({
    name: 'add',
    description: '',
    supports_streaming: false,
    parameters_schema_json: parametersSchema,
    result_schema_json: resultSchema,
  });
}

describe('a ToolSpec read into a ToolInfo', () => {
  it('parses the schemas the worker sent', () => {
    const info = toToolInfo(spec('{"type":"object","properties":{"a":{"type":"integer"}}}', '{"type":"integer"}'));
    expect(info.parametersSchema).toEqual({ type: 'object', properties: { a: { type: 'integer' } } });
    expect(info.resultSchema).toEqual({ type: 'integer' });
  });

  it('reads no schema (a worker that does not describe its tools) as any value', () => {
    expect(toToolInfo(spec(''))).toMatchObject({ parametersSchema: {}, resultSchema: {} });
  });

  it.each(['not json', '[1]', 'null', '"text"'])('refuses a schema that is not a JSON object: %s', (schema) => {
    expect(() => toToolInfo(spec(schema))).toThrow(
      expect.objectContaining({ code: 'worker_start_failed', message: expect.stringContaining("the parameters of tool 'add'") }),
    );
  });
});
