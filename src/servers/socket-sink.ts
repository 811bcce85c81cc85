import type { Writable } from 'node:stream';
import type { ByteSink } from '../core/egress.js';

/**
 * A ByteSink over a Node writable (net.Socket, http.ServerResponse): one corked batch per publisher read,
 * so libuv issues a single writev; `congested` mirrors write() having returned false until 'drain'.
 */
export class WritableSink implements ByteSink {
  private needDrain = false;

  constructor(
    private readonly w: Writable,
    onDrain: () => void,
  ) {
    w.on('drain', () => {
      this.needDrain = false;
      onDrain();
    });
  }

  get congested(): boolean {
    return this.needDrain || this.w.destroyed;
  }

  writeBatch(buffers: Buffer[]): void {
    if (this.w.destroyed || this.w.writableEnded) return;
    if (buffers.length === 1) {
      if (!this.w.write(buffers[0])) this.needDrain = true;
      return;
    }
    this.w.cork();
    let ok = true;
    for (const b of buffers) ok = this.w.write(b);
    this.w.uncork();
    if (!ok) this.needDrain = true;
  }
}
