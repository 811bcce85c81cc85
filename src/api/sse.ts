import type { ServerResponse } from 'node:http';
import type { ServerEvent, ServerEvents, ServerEventType } from '../core/events.js';

export const SSE_PING_MS = 15_000;
/** a client whose socket buffer grows past this (it does not read) is dropped rather than buffered for */
const MAX_BUFFERED_BYTES = 1024 * 1024;

interface Client {
  res: ServerResponse;
  types: ReadonlySet<string> | undefined;
  nextId: number;
  off: () => void;
}

/** One SSE frame: `id`, `event: <type>`, `data: <json>` (one line: JSON has no raw newlines), blank line. */
export function sseFrame(id: number, ev: ServerEvent): string {
  return `id: ${id}\nevent: ${ev.type}\ndata: ${JSON.stringify(ev)}\n\n`;
}

/** The server-sent event streams of `/api/v1/events`: one listener on the server's events per client. */
export class SseHub {
  private readonly clients = new Set<Client>();
  private pingTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly events: ServerEvents,
    private readonly pingMs = SSE_PING_MS,
  ) {}

  start(): void {
    this.pingTimer ??= setInterval(() => this.ping(), this.pingMs);
    this.pingTimer.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Starts an event stream on `res`; `types` limits it to those event types. */
  open(res: ServerResponse, types?: ReadonlySet<ServerEventType>): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    const client: Client = { res, types, nextId: 1, off: () => {} };
    client.off = this.events.on((ev) => {
      if (client.types && !client.types.has(ev.type)) return;
      this.write(client, sseFrame(client.nextId++, ev));
    });
    this.clients.add(client);
    res.on('close', () => this.drop(client));
    // a comment at once: the client sees the stream open (and proxies flush their buffers)
    this.write(client, `retry: 3000\n: connected\n\n`);
  }

  private write(c: Client, text: string): void {
    if (c.res.writableLength > MAX_BUFFERED_BYTES) {
      c.res.destroy();
      this.drop(c);
      return;
    }
    c.res.write(text);
  }

  private ping(): void {
    for (const c of this.clients) this.write(c, ': ping\n\n');
  }

  private drop(c: Client): void {
    if (!this.clients.delete(c)) return;
    c.off();
  }

  /** Ends every stream (shutdown). */
  close(): void {
    clearInterval(this.pingTimer);
    this.pingTimer = undefined;
    for (const c of [...this.clients]) {
      this.drop(c);
      c.res.end();
    }
  }
}
