import type { IncomingMessage } from 'node:http';
import type { ToolArguments } from '../public-types.js';
import type { SnakepitHttpError } from '../browser/http-status.js';
import { refusal } from './http-response.js';
import { quote } from '../quoted-input.js';
import { decodeWireValue, type WireBinaryAt } from '../browser/wire-format.js';
import { readBase64 } from './read-base64.js';

/**
 * The longest tool name, session id or stream id the handler accepts: the
 * number issue #10's pool option `maxIdLength` defaults to. When the pool
 * checks ids itself, its limit applies behind this one.
 */
export const MAX_ID_LENGTH = 256;

/**
 * How deeply arguments may nest. JSON.parse takes any depth, but encoding
 * them again for the worker recurses and would fail with a RangeError; the
 * pool option `maxArgumentDepth` (issue #10) will do the same check on every path.
 */
const MAX_ARGUMENT_DEPTH = 128;

/** What a call's request body says: `{ "args"?: {...}, "sessionId"?: "...", "timeout"?: ms }`. */
export interface CallBody {
  readonly args: ToolArguments | undefined;
  readonly sessionId: string | undefined;
  readonly timeout: number | undefined;
}

export interface BodyLimits {
  readonly maxBodyBytes: number;
  readonly bodyTimeoutMs: number;
}

const BODY_HINT = 'send a JSON object such as {"args": {"steps": 3}, "sessionId": "abc"} with Content-Type: application/json';
const FIELDS = new Set(['args', 'binaries', 'sessionId', 'timeout']);

function badRequest(message: string): SnakepitHttpError {
  return refusal(400, 'invalid_arguments', message, BODY_HINT);
}

/** A parameter's value, unquoted: RFC 9110 makes `charset="utf-8"` and `charset=utf-8` the same. */
function parameterValue(raw: string): string {
  return raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
}

function isJsonType(contentType: string): boolean {
  const [type = '', ...parameters] = contentType
    .toLowerCase()
    .split(';')
    .map((part) => part.trim());
  const charsets = parameters
    .filter((parameter) => parameter.startsWith('charset='))
    .map((parameter) => parameterValue(parameter.slice(8)));
  // Two charsets contradict each other, or repeat one: either way which one the sender meant is a guess.
  if (charsets.length > 1) return false;
  const [charset] = charsets;
  return (type === 'application/json' || /^application\/[\w.+-]+\+json$/.test(type)) && (charset === undefined || charset === 'utf-8');
}

/**
 * The request's one Content-Type; throws when it has several, which Node's parser would reduce to the
 * first: a body is not read as one of two types its sender gave.
 */
function contentTypeOf(req: IncomingMessage): string | undefined {
  const types = req.headersDistinct['content-type'];
  if (types !== undefined && types.length > 1) {
    throw badRequest(`the request has ${types.length} Content-Type headers; send one`);
  }
  return req.headers['content-type'];
}

/** Throws unless the body comes as it is: the handler decompresses nothing, and compressed bytes are no JSON text. */
function checkContentEncoding(req: IncomingMessage): void {
  const encoding = req.headers['content-encoding'];
  const coding = encoding?.trim().toLowerCase();
  if (encoding === undefined || coding === '' || coding === 'identity') return;
  throw refusal(
    415,
    'invalid_arguments',
    `the request body must not be compressed, got Content-Encoding ${quote(encoding)}`,
    'send the JSON as it is, without Content-Encoding',
  );
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Reads the body's bytes, within the size and time limits. */
function readBytes(req: IncomingMessage, { maxBodyBytes, bodyTimeoutMs }: BodyLimits): Promise<Uint8Array> {
  const declared = Number(req.headers['content-length']);
  if (declared > maxBodyBytes) return Promise.reject(tooLarge(maxBodyBytes));
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const settle = (error?: SnakepitHttpError) => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onError).off('aborted', onError);
      if (error === undefined) resolve(Buffer.concat(parts, size));
      else {
        // Stop reading: the response closes the connection.
        req.pause();
        reject(error);
      }
    };
    const onData = (part: Buffer) => {
      size += part.byteLength;
      if (size > maxBodyBytes) settle(tooLarge(maxBodyBytes));
      else parts.push(part);
    };
    const onEnd = () => settle();
    const onError = () => settle(refusal(400, 'invalid_arguments', 'the request body was cut short'));
    const timer = setTimeout(
      () => settle(refusal(408, 'invalid_arguments', `the request body did not arrive within ${bodyTimeoutMs} ms`)),
      bodyTimeoutMs,
    );
    req.on('data', onData).once('end', onEnd).once('error', onError).once('aborted', onError);
  });
}

function tooLarge(maxBodyBytes: number): SnakepitHttpError {
  return refusal(413, 'invalid_arguments', `the request body is larger than ${maxBodyBytes} bytes`);
}

// fatal: bytes that are not UTF-8 are refused, where Buffer's decoder made each a U+FFFD that reached the tool as if
// sent. ignoreBOM: a byte order mark stays in the text, for JSON.parse to refuse as before (JSON on a network has none).
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function utf8Text(bytes: Uint8Array): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw badRequest('the request body is not valid UTF-8');
  }
}

/** The body as a JSON value: the one a framework already parsed (`req.body`), or read here. */
async function bodyValue(req: IncomingMessage, limits: BodyLimits): Promise<unknown> {
  const parsed = (req as IncomingMessage & { body?: unknown }).body;
  let text: string;
  if (typeof parsed === 'string') text = parsed;
  else if (parsed instanceof Uint8Array) text = utf8Text(parsed);
  else if (parsed !== undefined) return parsed;
  else {
    const contentType = contentTypeOf(req);
    if (!hasBody(req) && contentType === undefined) return {};
    checkContentEncoding(req);
    if (contentType === undefined || !isJsonType(contentType)) {
      throw refusal(
        415,
        'invalid_arguments',
        `the request body must be JSON (UTF-8), got ${quote(contentType ?? 'no Content-Type')}`,
        BODY_HINT,
      );
    }
    if (req.readableEnded && hasBody(req)) {
      throw badRequest('the request body was already read by another middleware; pass its parsed value as req.body');
    }
    text = utf8Text(await readBytes(req, limits));
  }
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch (error) {
    throw badRequest(`the request body is not valid JSON: ${quote(error instanceof Error ? error.message : String(error))}`);
  }
}

function kindOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

function tooDeep(value: unknown): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, depth] = next;
    if (typeof item !== 'object' || item === null) continue;
    if (depth > MAX_ARGUMENT_DEPTH) return true;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return false;
}

function isBinaryAt(value: unknown): value is WireBinaryAt {
  if (typeof value !== 'object' || value === null) return false;
  const { path, encoding, dtype, shape } = value as Partial<Record<keyof WireBinaryAt, unknown>>;
  return (
    Array.isArray(path) &&
    path.length > 0 &&
    path.every((step) => typeof step === 'string' || (typeof step === 'number' && Number.isSafeInteger(step) && step >= 0)) &&
    (encoding === 'bytes' || (encoding === 'ndarray' && typeof dtype === 'string' && Array.isArray(shape)))
  );
}

/**
 * The arguments with their binary values (base64 text at the paths `binaries`
 * names, as the browser client sends them) decoded into `Uint8Array`s and
 * NdArrays, which the pool sends to the worker as binary arguments.
 */
function withBinaries(args: unknown, binaries: unknown): unknown {
  if (!Array.isArray(binaries) || !binaries.every(isBinaryAt)) {
    throw badRequest('binaries must be an array of { path, encoding: "bytes" | "ndarray", dtype, shape }, each path non-empty');
  }
  if (typeof args !== 'object' || args === null) throw badRequest('binaries name values in args, which has none');
  try {
    // The pool checks each NdArray's shape against its data, naming where it is.
    return decodeWireValue(args, { binaries }, undefined, readBase64);
  } catch (error) {
    throw badRequest(`binaries: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Reads and checks a call's body; throws the refusal to answer with. */
export async function readCallBody(req: IncomingMessage, limits: BodyLimits): Promise<CallBody> {
  const body = await bodyValue(req, limits);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest(`the request body must be a JSON object, got ${kindOf(body)}`);
  }
  const fields = body as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((key) => !FIELDS.has(key));
  if (unknown.length > 0)
    throw badRequest(`unknown field ${quote(unknown[0] ?? '')} in the request body (known: args, binaries, sessionId, timeout)`);
  const { args, binaries, sessionId, timeout } = fields;
  if (args !== undefined && args !== null && (typeof args !== 'object' || Array.isArray(args))) {
    throw badRequest(`args must be a JSON object of keyword arguments, got ${kindOf(args)}`);
  }
  if (tooDeep(args)) throw badRequest(`args nest deeper than ${MAX_ARGUMENT_DEPTH} levels`);
  const decoded = binaries === undefined ? args : withBinaries(args, binaries);
  if (sessionId !== undefined && typeof sessionId !== 'string') throw badRequest(`sessionId must be a string, got ${kindOf(sessionId)}`);
  if (typeof sessionId === 'string' && sessionId.length > MAX_ID_LENGTH) {
    throw badRequest(`sessionId is ${sessionId.length} characters long; at most ${MAX_ID_LENGTH} are accepted`);
  }
  if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout > 0) || !Number.isFinite(timeout))) {
    throw badRequest('timeout must be a positive number of milliseconds');
  }
  return {
    args: (decoded ?? undefined) as ToolArguments | undefined,
    sessionId: sessionId === '' ? undefined : sessionId,
    timeout,
  };
}
