import { Injectable } from '@angular/core';
import type { Observable } from 'rxjs';
import { createHttpClient, type Chunk, type HttpCallOptions, type HttpToolArguments } from 'snakepit-rx/browser';

/**
 * The pool on the server, as `createHttpHandler` serves it under `/snakepit`.
 * One client for the app; pass `fetch` to add the app's authentication.
 */
@Injectable({ providedIn: 'root' })
export class SnakepitService {
  private readonly client = createHttpClient({ baseUrl: '/snakepit' });

  /** A cold stream of the tool's chunks: subscribing starts it, unsubscribing cancels it in Python. */
  stream<T>(tool: string, args?: HttpToolArguments, options?: HttpCallOptions): Observable<Chunk<T>> {
    return this.client.stream<T>(tool, args, options);
  }
}
