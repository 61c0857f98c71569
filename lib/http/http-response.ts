import type { ServerResponse } from 'node:http';
import { httpStatusForCode, SnakepitHttpError } from '../browser/http-status.js';
import type { WireError } from '../browser/wire-format.js';
import { SnakepitError, type SnakepitErrorCode } from '../errors.js';
import { stringifyJson } from '../json-text.js';

/** A refusal of the handler's own, with its HTTP status: 405, 408, 413, 415 and the like. */
export function refusal(status: number, code: SnakepitErrorCode, message: string, hint?: string): SnakepitHttpError {
  return new SnakepitHttpError(status, code, message, hint === undefined ? {} : { hint });
}

/** Anything but a SnakepitError is a fault of the server; its text stays there. */
function asSnakepitError(error: unknown): SnakepitError {
  return error instanceof SnakepitError ? error : new SnakepitError('transport_error', 'the server failed to handle the request');
}

export function httpStatusOf(error: unknown): number {
  return error instanceof SnakepitHttpError ? error.status : httpStatusForCode(asSnakepitError(error).code);
}

/** The error as it goes to a browser: tracebacks only when the handler exposes them. */
export function toWireError(error: unknown, exposeTracebacks: boolean): WireError {
  const failure = asSnakepitError(error);
  return {
    code: failure.code,
    message: failure.message,
    ...(failure.pythonType === undefined ? {} : { pythonType: failure.pythonType }),
    ...(failure.hint === undefined ? {} : { hint: failure.hint }),
    ...(exposeTracebacks && failure.pythonTraceback !== undefined ? { pythonTraceback: failure.pythonTraceback } : {}),
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = stringifyJson(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** Answers with the error as JSON and its status; a response already under way is cut instead. */
export function sendError(res: ServerResponse, error: unknown, exposeTracebacks: boolean, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, httpStatusOf(error), toWireError(error, exposeTracebacks), headers);
}
