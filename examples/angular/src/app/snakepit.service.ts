import { Injectable } from '@angular/core';
import { createHttpClient } from 'snakepit-rx/browser';
import type { MLStreamingAdapterTools } from '../../../generated/ml-streaming-adapter';

/**
 * The pool on the server, as `createHttpHandler` serves it under `/snakepit`.
 * One client for the app, typed with the interface `npx snakepit-rx types`
 * generated from the Python adapter: tool names, arguments and chunk data are
 * checked at compile time. Pass `fetch` to add the app's authentication.
 */
@Injectable({ providedIn: 'root' })
export class SnakepitService {
  readonly client = createHttpClient<MLStreamingAdapterTools>({ baseUrl: '/snakepit' });
}
