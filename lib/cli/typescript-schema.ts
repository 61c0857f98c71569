/**
 * The schemas workers send (JSON Schema 2020-12, as pydantic writes it),
 * rewritten for json-schema-to-typescript: tuples in the older `items` form
 * it reads, binary values as the TypeScript types Node decodes them to, and
 * the definitions of every tool in one `$defs`, a name for each.
 */
import type { JsonSchema } from '../public-types.js';

type Schema = Record<string, unknown>;

/**
 * What the generated module calls the package it imports types from: no type json-schema-to-typescript
 * names starts with a lowercase letter, so a user's type cannot take it.
 */
export const PACKAGE_NAMESPACE = 'snakepit';

const NDARRAY = `${PACKAGE_NAMESPACE}.NdArray`;

/** Typed arrays Node views a numpy array's buffer as, by dtype (lib/contract/payload-decoding.ts). */
const TYPED_ARRAYS: ReadonlyMap<string, string> = new Map([
  ['bool', 'Uint8Array'],
  ['int8', 'Int8Array'],
  ['uint8', 'Uint8Array'],
  ['int16', 'Int16Array'],
  ['uint16', 'Uint16Array'],
  ['int32', 'Int32Array'],
  ['uint32', 'Uint32Array'],
  ['int64', 'BigInt64Array'],
  ['uint64', 'BigUint64Array'],
  ['float32', 'Float32Array'],
  ['float64', 'Float64Array'],
]);

/** The global types the schemas' TypeScript refers to: a user's type of one of these names would hide it. */
const GLOBAL_TYPES: ReadonlySet<string> = new Set([...TYPED_ARRAYS.values(), 'Exclude']);

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
  if (typeof dtype !== 'string')
    return argument ? `${NDARRAY} | Exclude<${PACKAGE_NAMESPACE}.NdArrayData, Uint8Array> | unknown[]` : NDARRAY;
  const typedArray = TYPED_ARRAYS.get(dtype);
  // Arrays of other dtypes (float16, complex, object...) travel as nested JSON lists.
  if (typedArray === undefined) return 'unknown[]';
  if (!argument) return `${NDARRAY}<${typedArray}>`;
  return typedArray === 'Uint8Array' ? `${NDARRAY}<Uint8Array> | unknown[]` : `${NDARRAY}<${typedArray}> | ${typedArray} | unknown[]`;
}

/** How a schema is rewritten. */
interface Rewriting {
  /** The definitions' new names, by their names in the schema. */
  readonly renamed: ReadonlyMap<string, string>;
  /** Called for each type from the package the rewritten schema refers to. */
  readonly importing?: () => void;
}

/** One schema rewritten; `$defs` are left to the caller. */
function rewrite(value: unknown, rewriting: Rewriting): unknown {
  if (Array.isArray(value)) return value.map((item) => rewrite(item, rewriting));
  if (!isSchema(value)) return value;
  const tsType = binaryType(value);
  if (tsType !== undefined) {
    if (tsType.includes(`${PACKAGE_NAMESPACE}.`)) rewriting.importing?.();
    return { tsType };
  }
  // Built from entries, not by assignment: a property named `__proto__` must stay a property.
  const entries: [string, unknown][] = [];
  for (const [keyword, inner] of Object.entries(value)) {
    // The generator is told that objects take no other keys unless they say so; and it would take a
    // default's type for the parameter's when the parameter has none.
    if (keyword === '$defs' || keyword === 'default' || (keyword === 'additionalProperties' && inner === false)) continue;
    if (keyword === '$ref' && typeof inner === 'string' && inner.startsWith(DEFINITIONS_PREFIX)) {
      const name = inner.slice(DEFINITIONS_PREFIX.length);
      entries.push([keyword, DEFINITIONS_PREFIX + (rewriting.renamed.get(name) ?? name)]);
    } else if (keyword === 'prefixItems') {
      entries.push(['items', rewrite(inner, rewriting)]);
      // pydantic states the length with minItems/maxItems; without a maxItems, more items may follow.
      if (value['maxItems'] === undefined)
        entries.push(['additionalItems', value['items'] === undefined ? true : rewrite(value['items'], rewriting)]);
    } else if (keyword === 'items' && value['prefixItems'] !== undefined) {
      continue;
    } else {
      entries.push([keyword, rewrite(inner, rewriting)]);
    }
  }
  return Object.fromEntries(entries);
}

/** The names of the definitions `value` refers to. */
function references(value: unknown, found: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) references(item, found);
  } else if (isSchema(value)) {
    for (const [keyword, inner] of Object.entries(value)) {
      if (keyword === '$ref' && typeof inner === 'string' && inner.startsWith(DEFINITIONS_PREFIX))
        found.add(inner.slice(DEFINITIONS_PREFIX.length));
      else references(inner, found);
    }
  }
  return found;
}

/**
 * What each of one schema's definitions is, by name: its own content and that of every definition it
 * refers to, however indirectly. Two `Outer`s written alike are different types when their `Inner`s are.
 */
function identities(own: Schema): Map<string, string> {
  const plain = new Map(Object.entries(own).map(([name, definition]) => [name, rewrite(definition, { renamed: new Map() })]));
  const texts = new Map([...plain].map(([name, definition]) => [name, JSON.stringify(definition)]));
  const result = new Map<string, string>();
  for (const name of plain.keys()) {
    const reached = new Set([name]);
    for (const current of reached) for (const target of references(plain.get(current))) if (plain.has(target)) reached.add(target);
    const others = [...reached].filter((other) => other !== name).sort();
    result.set(name, JSON.stringify([name, ...others].map((other) => [other, texts.get(other)])));
  }
  return result;
}

/**
 * Gathers the definitions of many schemas into one `$defs`: a definition
 * that several schemas share keeps its name; different definitions of one
 * name (two classes `Item` in two modules) become `Item`, `Item2`... and so
 * does a definition named like a global type the schemas refer to.
 */
export class SharedDefinitions {
  private readonly definitions = new Map<string, unknown>();
  /** The name given to each definition, by its identity (`identities`). */
  private readonly names = new Map<string, string>();
  /** The names given, and those no definition may take. */
  private readonly taken = new Set<string>(GLOBAL_TYPES);
  private importing = false;

  /** Whether the schemas refer to types the module imports from the package. */
  get importsPackage(): boolean {
    return this.importing;
  }

  /** The schema ready for json-schema-to-typescript, its definitions added to the shared ones. */
  add(schema: JsonSchema): Schema {
    const own = isSchema(schema['$defs']) ? schema['$defs'] : {};
    const renamed = new Map<string, string>();
    const added = new Set<string>();
    for (const [name, identity] of identities(own)) {
      let given = this.names.get(identity);
      if (given === undefined) {
        given = name;
        for (let suffix = 2; this.taken.has(given); suffix++) given = `${name}${suffix}`;
        this.names.set(identity, given);
        this.taken.add(given);
        added.add(name);
      }
      renamed.set(name, given);
    }
    const rewriting: Rewriting = {
      renamed,
      importing: () => {
        this.importing = true;
      },
    };
    // A definition gathered before is this one (the same identity): it is not written again.
    for (const [name, definition] of Object.entries(own)) {
      if (!added.has(name)) continue;
      const target = renamed.get(name) ?? name;
      const rewritten = rewrite(definition, rewriting);
      this.definitions.set(target, target === name || !isSchema(rewritten) ? rewritten : { ...rewritten, title: target });
    }
    return rewrite(schema, rewriting) as Schema;
  }

  /** Every definition gathered, by name. */
  all(): Schema {
    return Object.fromEntries(this.definitions);
  }
}
