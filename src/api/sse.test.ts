import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ServerEvents } from '../core/events.js';
import { SseHub, sseFrame } from './sse.js';

class FakeResponse extends EventEmitter {
  status = 0;
  headers: Record<string, string> = {};
  chunks: string[] = [];
  ended = false;
  destroyed = false;
  writableLength = 0;
  socket = { setNoDelay: () => {} };
  writeHead(status: number, headers: Record<string, string>) {
    this.status = status;
    this.headers = headers;
    return this;
  }
  write(s: string) {
    this.chunks.push(s);
    return true;
  }
  end() {
    this.ended = true;
    this.emit('close');
    return this;
  }
  destroy() {
    this.destroyed = true;
    this.emit('close');
    return this;
  }
  get text() {
    return this.chunks.join('');
  }
}

const asRes = (r: FakeResponse) => r as unknown as ServerResponse;
const ev = { sessionId: 'rtmp-1', protocol: 'rtmp', ip: '127.0.0.1', app: 'live', name: 'x' };

describe('SseHub', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('frames events as id/event/data lines with one JSON line', () => {
    const frame = sseFrame(3, { ...ev, type: 'publish', time: 't', reason: 'a\nb' });
    expect(frame).toBe(
      `id: 3\nevent: publish\ndata: ${JSON.stringify({ ...ev, type: 'publish', time: 't', reason: 'a\nb' })}\n\n`,
    );
    expect(frame.split('\n')).toHaveLength(5);
  });

  it('streams events, filters by type, pings, and unsubscribes when the client goes', () => {
    vi.useFakeTimers();
    const events = new ServerEvents();
    const hub = new SseHub(events, 1000);
    hub.start();
    const all = new FakeResponse();
    const some = new FakeResponse();
    hub.open(asRes(all));
    hub.open(asRes(some), new Set(['stop']));
    expect(all.status).toBe(200);
    expect(all.headers['Content-Type']).toMatch(/^text\/event-stream/);
    expect(events.listenerCount).toBe(2);
    events.emit({ ...ev, type: 'publish' });
    events.emit({ ...ev, type: 'stop' });
    expect(all.text).toContain('event: publish\n');
    expect(all.text).toContain('id: 2\nevent: stop\n');
    expect(some.text).not.toContain('event: publish');
    expect(some.text).toContain('id: 1\nevent: stop\n');
    vi.advanceTimersByTime(1000);
    expect(all.text.endsWith(': ping\n\n')).toBe(true);
    all.emit('close');
    expect(hub.size).toBe(1);
    expect(events.listenerCount).toBe(1);
    hub.close();
    expect(some.ended).toBe(true);
    expect(hub.size).toBe(0);
    expect(events.listenerCount).toBe(0);
  });

  it('drops a client that does not read', () => {
    const events = new ServerEvents();
    const hub = new SseHub(events);
    const slow = new FakeResponse();
    hub.open(asRes(slow));
    slow.writableLength = 2 * 1024 * 1024;
    events.emit({ ...ev, type: 'publish' });
    expect(slow.destroyed).toBe(true);
    expect(hub.size).toBe(0);
    expect(events.listenerCount).toBe(0);
    hub.close();
  });
});
