import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';

/** One client connection and the connection to the target it is relayed to. */
interface Link {
  readonly client: Socket;
  readonly upstream: Socket | undefined;
}

/**
 * A TCP proxy between a pool and a `serve` worker that injects network
 * faults, for the remote-worker specs:
 *
 * - pass-through (the default);
 * - `delay(ms)`: each chunk of bytes is relayed `ms` later, in order, both ways;
 * - `partition()`: nothing passes either way, and nothing is closed, as when
 *   a network drops packets; new connections are accepted and hang. `heal()`
 *   lets the held bytes through and relays again;
 * - `reset()`: every connection is reset (TCP RST) both ways, mid-stream;
 * - `blackhole()`: connections are accepted but never relayed nor answered,
 *   like an endpoint whose port is open but whose server is stuck; a client
 *   closing one is seen.
 */
export class FaultProxy {
  private readonly links = new Set<Link>();
  private latencyMs = 0;
  private mode: 'pass' | 'partition' | 'blackhole' = 'pass';

  private constructor(
    private readonly server: Server,
    private readonly target: { readonly host: string; readonly port: number },
    /** The port the proxy listens on, on 127.0.0.1. */
    readonly port: number,
  ) {}

  /** Starts a proxy in front of `host:port`. */
  static async start(target: { host?: string; port: number }): Promise<FaultProxy> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP port');
    const proxy = new FaultProxy(server, { host: target.host ?? '127.0.0.1', port: target.port }, address.port);
    server.on('connection', (client) => proxy.accept(client));
    return proxy;
  }

  /** `127.0.0.1:<port>`, what a pool dials instead of the target. */
  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Connections open now. */
  get connections(): number {
    return this.links.size;
  }

  /** Connections accepted in black-hole mode so far. */
  accepted = 0;

  delay(ms: number): void {
    this.latencyMs = ms;
  }

  partition(): void {
    this.mode = 'partition';
    for (const link of this.links) {
      link.client.pause();
      link.upstream?.pause();
    }
  }

  /** Ends a partition or a black hole: bytes flow again on every connection. */
  heal(): void {
    this.mode = 'pass';
    for (const link of this.links) {
      link.client.resume();
      link.upstream?.resume();
    }
  }

  blackhole(): void {
    this.partition();
    this.mode = 'blackhole';
  }

  reset(): void {
    for (const link of this.links) {
      link.client.resetAndDestroy();
      link.upstream?.resetAndDestroy();
    }
    this.links.clear();
  }

  async close(): Promise<void> {
    this.reset();
    const closed = once(this.server, 'close');
    this.server.close();
    await closed;
  }

  private accept(client: Socket): void {
    client.on('error', () => undefined);
    if (this.mode === 'blackhole') {
      const link: Link = { client, upstream: undefined };
      this.links.add(link);
      this.accepted++;
      // What the client sends is read and dropped, so that its closing the connection is seen (and counted).
      client.on('data', () => undefined);
      client.on('end', () => client.destroy());
      client.on('close', () => this.links.delete(link));
      return;
    }
    const upstream = connect(this.target.port, this.target.host);
    upstream.on('error', () => undefined);
    const link: Link = { client, upstream };
    this.links.add(link);
    this.relay(client, upstream);
    this.relay(upstream, client);
    const drop = () => {
      this.links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', drop);
    upstream.on('close', drop);
    if (this.mode === 'partition') {
      client.pause();
      upstream.pause();
    }
  }

  /** Relays `from` to `to`, `latencyMs` later; timers of one duration fire in the order they were set, so order is kept. */
  private relay(from: Socket, to: Socket): void {
    from.on('data', (bytes: Buffer) => {
      if (this.latencyMs === 0) to.write(bytes);
      else setTimeout(() => to.destroyed || to.write(bytes), this.latencyMs);
    });
  }
}
