import type { Socket } from 'node:net';
import { ChannelCredentials, type CallCredentials } from '@grpc/grpc-js';

type SecureConnector = ReturnType<ChannelCredentials['_createSecureConnector']>;

/**
 * Channel credentials that close what grpc-js leaves open: a connection to a
 * server that accepts TCP but never answers HTTP/2 stays open after its
 * client is closed (grpc/grpc-node#2785: the subchannel destroys its secure
 * connector, but its connection attempt waits for the server's settings for
 * good). A pool dialling such an endpoint again and again would leak one
 * socket per attempt. These wrap another credentials' connector and, when
 * grpc-js destroys it, destroy the sockets it connected that never received
 * a byte; a connection the server answered on is left to grpc-js.
 *
 * `_createSecureConnector` is grpc-js's own (declared in its typings, so a
 * change of its shape fails the build).
 */
export class SilentSocketReaping extends ChannelCredentials {
  constructor(private readonly inner: ChannelCredentials) {
    super();
  }

  override compose(callCredentials: CallCredentials): ChannelCredentials {
    return new SilentSocketReaping(this.inner.compose(callCredentials));
  }

  override _isSecure(): boolean {
    return this.inner._isSecure();
  }

  override _equals(other: ChannelCredentials): boolean {
    return other instanceof SilentSocketReaping && this.inner._equals(other.inner);
  }

  override _createSecureConnector(...args: Parameters<ChannelCredentials['_createSecureConnector']>): SecureConnector {
    const connector = this.inner._createSecureConnector(...args);
    const sockets = new Set<Socket>();
    return {
      connect: (socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
        return connector.connect(socket);
      },
      waitForReady: () => connector.waitForReady(),
      getCallCredentials: () => connector.getCallCredentials(),
      destroy: () => {
        connector.destroy();
        for (const socket of sockets) if (socket.bytesRead === 0) socket.destroy();
        sockets.clear();
      },
    };
  }
}
