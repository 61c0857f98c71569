import { SnakepitError } from '../errors.js';
import type { JsonSchema, ToolInfo } from '../public-types.js';
import type { ToolSpecMessage } from './bridge-connection.js';

/** A tool as `pool.tools()` lists it, from the ToolSpec a worker sent. */
export function toToolInfo(spec: ToolSpecMessage): ToolInfo {
  return {
    name: spec.name,
    description: spec.description,
    supportsStreaming: spec.supports_streaming,
    parameters: spec.parameters.map((parameter) => ({
      name: parameter.name,
      type: parameter.type,
      required: parameter.required,
      ...(parameter.default_json ? { default: JSON.parse(parameter.default_json) as unknown } : {}),
    })),
    parametersSchema: parseSchema(spec.name, 'parameters', spec.parameters_schema_json),
    resultSchema: parseSchema(spec.name, 'result', spec.result_schema_json),
  };
}

/** A schema the worker sent; none (a worker that does not describe its tools) is `{}`, any value. */
function parseSchema(tool: string, what: string, json: string): JsonSchema {
  if (json === '') return {};
  let schema: unknown;
  try {
    schema = JSON.parse(json);
  } catch {
    schema = undefined;
  }
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    const message = `the worker described the ${what} of tool '${tool}' with a schema that is not a JSON object`;
    throw new SnakepitError('worker_start_failed', message, { tool });
  }
  return schema as JsonSchema;
}
