/**
 * The schemas workers send (JSON Schema 2020-12, as pydantic writes it),
 * rewritten for json-schema-to-typescript: tuples in the older `items` form
 * it reads, binary values as the TypeScript types Node decodes them to, and
 * the definitions of every tool in one `$defs`, a name for each.
 */
import type { JsonSchema } from '../public-types.js';

type Schema = Record<string, unknown>;

/** Typed arrays Node views a numpy array's buffer as, by dtype (lib/contract/payload-decoding.ts). */
const TYPED_ARRAYS: Readonly<Record<string, string>> = {
  bool: 'Uint8Array',
  int8: 'Int8Array',
  uint8: 'Uint8Array',
  int16: 'Int16Array',
  uint16: 'Uint16Array',
  int32: 'Int32Array',
  uint32: 'Uint32Array',
  int64: 'BigInt64Array',
  uint64: 'BigUint64Array',
  float32: 'Float32Array',
  float64: 'Float64Array',
};

const DEFINITIONS_PREFIX = '#/$defs/';

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The TypeScript type of a binary value marked by the worker, or undefined for any other schema. An
 * argument's schema (base64 text, a JSON array) also takes what a Node caller sends binary: a
 * `Uint8Array` for bytes; an NdArray or a typed array other than `Uint8Array` (which travels as bytes) for an array.
 */
function binaryType(schema: Schema): string | undefined {
  const kind = schema['x-snakepit-type'];
  const argument = schema['contentEncoding'] === 'base64' || schema['type'] === 'array';
  if (kind === 'bytes') return argument ? 'Uint8Array | string' : 'Uint8Array';
  if (kind !== 'ndarray') return undefined;
  const dtype = schema['x-snakepit-dtype'];
  if (typeof dtype !== 'string') return argument ? 'NdArray | Exclude<NdArrayData, Uint8Array> | unknown[]' : 'NdArray';
  const typedArray = TYPED_ARRAYS[dtype];
  // Arrays of other dtypes (float16, complex, object...) travel as nested JSON lists.
  if (typedArray === undefined) return 'unknown[]';
  if (!argument) return `NdArray<${typedArray}>`;
  return typedArray === 'Uint8Array' ? 'NdArray<Uint8Array> | unknown[]' : `NdArray<${typedArray}> | ${typedArray} | unknown[]`;
}

/** One schema rewritten, its `$ref`s renamed by `renamed`; `$defs` are left to the caller. */
function rewrite(value: unknown, renamed: ReadonlyMap<string, string>): unknown {
  if (Array.isArray(value)) return value.map((item) => rewrite(item, renamed));
  if (!isSchema(value)) return value;
  const tsType = binaryType(value);
  if (tsType !== undefined) return { tsType };
  const result: Schema = {};
  for (const [keyword, inner] of Object.entries(value)) {
    // The generator is told that objects take no other keys unless they say so; and it would take a
    // default's type for the parameter's when the parameter has none.
    if (keyword === '$defs' || keyword === 'default' || (keyword === 'additionalProperties' && inner === false)) continue;
    if (keyword === '$ref' && typeof inner === 'string' && inner.startsWith(DEFINITIONS_PREFIX)) {
      const name = inner.slice(DEFINITIONS_PREFIX.length);
      result[keyword] = DEFINITIONS_PREFIX + (renamed.get(name) ?? name);
    } else if (keyword === 'prefixItems') {
      result['items'] = rewrite(inner, renamed);
      // pydantic states the length with minItems/maxItems; without a maxItems, more items may follow.
      if (value['maxItems'] === undefined)
        result['additionalItems'] = value['items'] === undefined ? true : rewrite(value['items'], renamed);
    } else if (keyword === 'items' && value['prefixItems'] !== undefined) {
      continue;
    } else {
      result[keyword] = rewrite(inner, renamed);
    }
  }
  return result;
}

/**
 * Gathers the definitions of many schemas into one `$defs`: a definition
 * that several schemas share keeps its name; different definitions of one
 * name (two classes `Item` in two modules) become `Item`, `Item2`...
 */
export class SharedDefinitions {
  private readonly definitions = new Map<string, unknown>();
  /** The name given to each definition, by its original name and content. */
  private readonly names = new Map<string, string>();

  /** The schema ready for json-schema-to-typescript, its definitions added to the shared ones. */
  add(schema: JsonSchema): Schema {
    const own = isSchema(schema['$defs']) ? schema['$defs'] : {};
    const renamed = new Map<string, string>();
    for (const [name, definition] of Object.entries(own)) renamed.set(name, this.nameFor(name, definition));
    for (const [name, definition] of Object.entries(own)) {
      const target = renamed.get(name) ?? name;
      const rewritten = rewrite(definition, renamed);
      this.definitions.set(target, target === name || !isSchema(rewritten) ? rewritten : { ...rewritten, title: target });
    }
    return rewrite(schema, renamed) as Schema;
  }

  /** Every definition gathered, by name. */
  all(): Schema {
    return Object.fromEntries(this.definitions);
  }

  private nameFor(name: string, definition: unknown): string {
    const key = `${name}\n${JSON.stringify(rewrite(definition, new Map()))}`;
    let given = this.names.get(key);
    if (given === undefined) {
      given = name;
      for (let suffix = 2; [...this.names.values()].includes(given); suffix++) given = `${name}${suffix}`;
      this.names.set(key, given);
    }
    return given;
  }
}
