import type { Server, Socket } from 'node:net';
import type { ConnectionLimiter } from '../core/connection-limiter.js';
import type { Counters } from '../observability/counters.js';

/**
 * Applies the per-IP connection limits to a listener (plain or TLS) at TCP accept, before any protocol or TLS
 * work: a refused socket is destroyed at once and counted as `connect_rejected{per-ip-limit|rate-limit}`.
 * The listener's own handler runs afterwards and must skip destroyed sockets.
 */
export function limitConnections(server: Server, limiter: ConnectionLimiter, counters: Counters): void {
  server.prependListener('connection', (socket: Socket) => {
    const a = limiter.admit(socket.remoteAddress ?? '');
    if (!a.ok) {
      counters.inc('connect_rejected', a.reason);
      socket.destroy();
      return;
    }
    socket.once('close', a.release);
  });
}
