import { refusal } from './http-response.js';
import { MAX_ID_LENGTH } from './read-call-body.js';

/** What a request asks for, by its method and path. */
export type Route =
  | { readonly kind: 'tools' }
  | { readonly kind: 'stream'; readonly tool: string }
  | { readonly kind: 'execute'; readonly tool: string }
  | { readonly kind: 'resume'; readonly streamId: string }
  | { readonly kind: 'cancel'; readonly streamId: string }
  | { readonly kind: 'wrong-method'; readonly method: string; readonly allow: string }
  | { readonly kind: 'unknown'; readonly method: string; readonly path: string; readonly hint: string };

const ROUTES_HINT = 'routes: POST /stream/:tool, POST /execute/:tool, GET /tools, GET /stream/resume/:streamId';
const STREAM_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** A path segment, percent-decoded; tool names and stream ids are bounded before anything else looks at them. */
function segment(raw: string, what: string): string {
  // A percent-encoded character takes three; anything longer cannot decode to an accepted length.
  if (raw.length > MAX_ID_LENGTH * 3) throw refusal(400, 'invalid_arguments', `the ${what} is longer than ${MAX_ID_LENGTH} characters`);
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw refusal(400, 'invalid_arguments', `the ${what} is not valid percent-encoded UTF-8`);
  }
  if (decoded.length > MAX_ID_LENGTH) throw refusal(400, 'invalid_arguments', `the ${what} is longer than ${MAX_ID_LENGTH} characters`);
  return decoded;
}

function streamId(raw: string): string {
  const id = segment(raw, 'stream id');
  if (!STREAM_ID.test(id)) throw refusal(400, 'invalid_arguments', 'that is not a stream id (the Snakepit-Stream-Id of a stream response)');
  return id;
}

/** The route that `parts` (a path's segments) name, or undefined when they name none. */
function routeOf(method: string, parts: readonly string[]): Route | undefined {
  const only = (allowed: string, route: () => Route): Route =>
    method === allowed ? route() : { kind: 'wrong-method', method, allow: allowed };
  const [head, second, third] = parts;
  if (parts.length === 1 && head === 'tools') return only('GET', () => ({ kind: 'tools' }));
  if (parts.length === 2 && head === 'execute' && second !== '') {
    return only('POST', () => ({ kind: 'execute', tool: segment(second!, 'tool name') }));
  }
  if (parts.length === 3 && head === 'stream' && second === 'resume' && third !== '') {
    return only('GET', () => ({ kind: 'resume', streamId: streamId(third!) }));
  }
  if (parts.length === 2 && head === 'stream' && second !== '') {
    if (method === 'POST') return { kind: 'stream', tool: segment(second!, 'tool name') };
    if (method === 'DELETE') return { kind: 'cancel', streamId: streamId(second!) };
    return { kind: 'wrong-method', method, allow: 'POST, DELETE' };
  }
  return undefined;
}

/**
 * The route of a request, its path taken relative to `basePath`; a path
 * outside `basePath` names none. With `anyPrefix`, a path that ends with a
 * route names it whatever comes before (`/api/tools`): for a handler called
 * from a server's own routing, which passes the full path (Fastify's
 * `reply.raw`, a plain `http` server).
 * Throws a refusal for a tool name or stream id that cannot be one.
 */
export function matchRoute(method: string, url: string, basePath: string, anyPrefix: boolean): Route {
  const pathname = url.split('?', 1)[0] ?? '/';
  // The routes are under basePath only: `/tools` beside `/snakepit/tools` would reach the tools past a proxy or
  // an authentication that guards the prefix.
  if (basePath !== '' && pathname !== basePath && !pathname.startsWith(`${basePath}/`)) {
    return { kind: 'unknown', method, path: pathname, hint: ROUTES_HINT };
  }
  const path = pathname.slice(basePath.length);
  const parts = path.split('/').slice(1);
  const exact = routeOf(method, parts);
  if (exact !== undefined) return exact;
  // Routes are at most three segments long.
  for (let start = Math.max(1, parts.length - 3); anyPrefix && start < parts.length; start++) {
    const route = routeOf(method, parts.slice(start));
    if (route !== undefined) return route;
  }
  return { kind: 'unknown', method, path, hint: ROUTES_HINT };
}
