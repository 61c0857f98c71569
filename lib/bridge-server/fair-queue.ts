import { AsyncResource } from 'node:async_hooks';
import { SnakepitError } from '../errors.js';

export interface FairQueueOptions {
  /** Calls of one client that may be in the pool at once (running or waiting there for a worker), now. */
  readonly perClientConcurrency: () => number;
  /** Calls of one client that may wait here; past it a call is refused with `pool_saturated`. */
  readonly perClientQueue: number;
  /** Bytes of requests that may wait here, of every client; past it a call is refused with `pool_saturated`. */
  readonly maxWaitingBytes: number;
  /** Whether the pool takes a call now without queueing it behind others: it has no call waiting for a worker. */
  readonly poolHasRoom: () => boolean;
}

/** A client's calls: those in the pool and those waiting here, in arrival order. */
interface Client {
  inPool: number;
  readonly waiting: Waiting[];
}

interface Waiting {
  readonly client: Client;
  /** The size of the call's request, which it holds while it waits. */
  readonly bytes: number;
  readonly start: (done: () => void) => void;
}

/** A call admitted to the queue: `withdraw` takes it out while it waits (its client gave up). */
export interface Admission {
  withdraw(): void;
}

/**
 * The bridge server's queue in front of the pool, so that no client can
 * starve the others: each client has at most `perClientConcurrency` calls
 * in the pool, and its other calls wait here, at most `perClientQueue` of
 * them. Calls go to the pool only while it has no call waiting for a
 * worker, the clients taking turns (round robin), so that a client with a
 * thousand calls waiting delays another's next call by one call at most.
 */
export class FairQueue {
  private readonly clients = new Map<string, Client>();
  /** Clients with calls waiting, the next to be served first. */
  private readonly turns: string[] = [];
  private waitingCount = 0;
  private waitingBytes = 0;
  private dispatching = false;

  constructor(private readonly options: FairQueueOptions) {}

  /** Calls waiting here, of every client. */
  get waiting(): number {
    return this.waitingCount;
  }

  /**
   * Calls `start` once the client's call may go to the pool (in the async
   * context `admit` was called in), with the function that the call must
   * call once it has ended. Throws
   * `pool_saturated` when the client already has `perClientQueue` calls waiting,
   * or when a request of `bytes` would make the waiting ones hold more than
   * `maxWaitingBytes` (clients are connections, which any client may open more of).
   */
  admit(clientId: string, bytes: number, start: (done: () => void) => void): Admission {
    const known = this.clients.get(clientId);
    if (known !== undefined && known.waiting.length >= this.options.perClientQueue) {
      throw new SnakepitError(
        'pool_saturated',
        `this client already has ${known.inPool} calls running and ${known.waiting.length} waiting, the most the server takes`,
        { hint: 'wait for your calls to finish (read your streams), or ask for a higher perClientQueue' },
      );
    }
    if (this.waitingCount > 0 && this.waitingBytes + bytes > this.options.maxWaitingBytes) {
      throw new SnakepitError(
        'pool_saturated',
        `the calls waiting for their turn already hold ${this.waitingBytes} bytes of requests; this one's ${bytes} would pass maxWaitingBytes (${this.options.maxWaitingBytes})`,
        { hint: 'retry once calls have finished, or ask for a higher maxWaitingBytes' },
      );
    }
    let client = known;
    if (client === undefined) {
      client = { inPool: 0, waiting: [] };
      this.clients.set(clientId, client);
    }
    // A waiting call starts when another call ends: bound here, it runs in its own caller's async context
    // (the trace context its span is a child of, with OpenTelemetry), not in that of the call that let it in.
    const entry: Waiting = { client, bytes, start: AsyncResource.bind(start) };
    client.waiting.push(entry);
    this.waitingCount += 1;
    this.waitingBytes += bytes;
    if (client.waiting.length === 1) this.turns.push(clientId);
    this.dispatch();
    return { withdraw: () => this.withdraw(clientId, entry) };
  }

  /** Sends waiting calls to the pool while it has room, taking the clients in turn. Call it whenever the pool may have room again. */
  dispatch(): void {
    // A call may end while it starts (the pool refuses it at once): the loop under way goes on.
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      this.dispatchWhileRoom();
    } finally {
      this.dispatching = false;
    }
  }

  private dispatchWhileRoom(): void {
    while (this.waitingCount > 0 && this.options.poolHasRoom()) {
      const concurrency = this.options.perClientConcurrency();
      const position = this.turns.findIndex((clientId) => this.clients.get(clientId)!.inPool < concurrency);
      if (position < 0) return;
      const [clientId] = this.turns.splice(position, 1) as [string];
      const client = this.clients.get(clientId)!;
      const entry = client.waiting.shift()!;
      this.waitingCount -= 1;
      this.waitingBytes -= entry.bytes;
      // Its next call, if any, waits for the other clients' turns.
      if (client.waiting.length > 0) this.turns.push(clientId);
      client.inPool += 1;
      let ended = false;
      entry.start(() => {
        if (ended) return;
        ended = true;
        client.inPool -= 1;
        this.forgetIfIdle(clientId, client);
        this.dispatch();
      });
    }
  }

  private withdraw(clientId: string, entry: Waiting): void {
    const { client } = entry;
    const position = client.waiting.indexOf(entry);
    if (position < 0) return;
    client.waiting.splice(position, 1);
    this.waitingCount -= 1;
    this.waitingBytes -= entry.bytes;
    if (client.waiting.length === 0) this.turns.splice(this.turns.indexOf(clientId), 1);
    this.forgetIfIdle(clientId, client);
  }

  private forgetIfIdle(clientId: string, client: Client): void {
    if (client.inPool === 0 && client.waiting.length === 0) this.clients.delete(clientId);
  }
}
