/**
 * ffmpeg `-progress` output: blocks of `key=value` lines, each ending with `progress=continue` (or `end`).
 * Push parser: feed any slice, get the completed blocks. No I/O.
 */

export interface FfmpegProgress {
  frame?: number;
  fps?: number;
  /** realtime factor (`speed=1.01x`) */
  speed?: number;
  /** output media time, ms */
  outTimeMs?: number;
  /** kbit/s of the first output */
  bitrateKbps?: number;
  totalSize?: number;
  dupFrames?: number;
  dropFrames?: number;
  /** `continue` or `end` */
  progress: string;
}

/** Longest line kept; anything longer is not progress output. */
const MAX_LINE = 1024;

function num(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number.parseFloat(v);
  return Number.isFinite(n) ? n : undefined;
}

export class ProgressParser {
  private partial = '';
  private block = new Map<string, string>();

  push(chunk: string): FfmpegProgress[] {
    const out: FfmpegProgress[] = [];
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop() ?? '';
    if (this.partial.length > MAX_LINE) this.partial = '';
    for (const raw of lines) {
      const line = raw.trim();
      const eq = line.indexOf('=');
      if (eq <= 0) continue;
      const key = line.slice(0, eq);
      const value = line.slice(eq + 1).trim();
      if (key !== 'progress') {
        if (this.block.size < 256) this.block.set(key, value);
        continue;
      }
      out.push(this.finish(value));
    }
    return out;
  }

  private finish(progress: string): FfmpegProgress {
    const b = this.block;
    this.block = new Map();
    // out_time_us is microseconds; older ffmpeg wrote microseconds under out_time_ms too
    const us = num(b.get('out_time_us')) ?? num(b.get('out_time_ms'));
    const bitrate = b.get('bitrate');
    return {
      frame: num(b.get('frame')),
      fps: num(b.get('fps')),
      speed: num(b.get('speed')?.replace(/x$/, '')),
      outTimeMs: us !== undefined ? Math.round(us / 1000) : undefined,
      bitrateKbps: bitrate && bitrate !== 'N/A' ? num(bitrate.replace(/kbits\/s$/, '')) : undefined,
      totalSize: num(b.get('total_size')),
      dupFrames: num(b.get('dup_frames')),
      dropFrames: num(b.get('drop_frames')),
      progress,
    };
  }
}
