import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../observability/logger.js';
import type { SegmentStore, StoredSegment } from './store.js';

/**
 * Mirrors one stream's segment window to disk (`hls.diskDir/<app>/<stream>/`): init segment, complete segments
 * and the playlist, deleting segments that leave the window. Writes are serialized per stream; the first
 * failure (e.g. a full disk) stops the mirror for that stream with one error log — memory serving goes on.
 * App and stream names are validated before they get here (servers/names.ts), so they are safe path parts.
 */
export class DiskWriter {
  private readonly dir: string;
  private readonly written = new Set<number>();
  private initVersion = 0;
  private chain: Promise<void> = Promise.resolve();
  private failed = false;
  private readonly off: () => void;

  constructor(
    root: string,
    app: string,
    name: string,
    private readonly store: SegmentStore,
    private readonly ext: 'ts' | 'm4s',
    private readonly renderPlaylist: () => string,
    private readonly log: Logger,
  ) {
    this.dir = join(root, app, name);
    this.off = store.onChange(() => this.sync());
    this.enqueue(() => mkdir(this.dir, { recursive: true }).then(() => undefined));
  }

  private enqueue(task: () => Promise<void>): void {
    this.chain = this.chain.then(async () => {
      if (this.failed) return;
      try {
        await task();
      } catch (err) {
        this.failed = true;
        this.log.error({ dir: this.dir, err: (err as Error).message }, 'hls disk mirror stopped');
      }
    });
  }

  private sync(): void {
    if (this.failed) return;
    const init = this.store.init;
    if (this.ext === 'm4s' && init && init.version !== this.initVersion) {
      this.initVersion = init.version;
      const bytes = init.bytes;
      this.enqueue(() => writeFile(join(this.dir, 'init.mp4'), bytes));
    }
    const present = new Set(this.store.segments.map((s) => s.msn));
    const fresh: StoredSegment[] = this.store.segments.filter((s) => !this.written.has(s.msn));
    for (const seg of fresh) {
      this.written.add(seg.msn);
      this.enqueue(() => writeFile(join(this.dir, `seg${seg.msn}.${this.ext}`), seg.bytes));
    }
    for (const msn of [...this.written]) {
      if (present.has(msn)) continue;
      this.written.delete(msn);
      this.enqueue(() => rm(join(this.dir, `seg${msn}.${this.ext}`), { force: true }));
    }
    if (fresh.length > 0 || this.store.ended) {
      const text = this.renderPlaylist();
      this.enqueue(() => writeFile(join(this.dir, 'index.m3u8'), text));
    }
  }

  /** Stops mirroring; resolves when pending writes are done. */
  close(): Promise<void> {
    this.off();
    return this.chain;
  }
}
