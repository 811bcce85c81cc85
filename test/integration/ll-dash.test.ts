import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { ffmpegPublish, hasTool, media } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

function boxTypes(b: Buffer): string[] {
  const out: string[] = [];
  for (let off = 0; off + 8 <= b.length; ) {
    const size = b.readUInt32BE(off);
    out.push(b.subarray(off + 4, off + 8).toString('latin1'));
    if (size < 8) break;
    off += size;
  }
  return out;
}

describe.skipIf(!hasTool('ffmpeg'))('low-latency DASH (hls.dashLowLatency)', () => {
  let t: TestServer;
  let pub: ChildProcess;
  beforeAll(async () => {
    t = await startTestServer({ hls: { segmentFormat: 'fmp4', lowLatency: true, dashLowLatency: true } });
    pub = ffmpegPublish(t.rtmpUrl('live/lld'), media('h264-aac-360p.flv'));
    await t.waitLive('live', 'lld');
  });
  afterAll(async () => {
    await stop();
    await t.close();
  });
  const stop = async () => {
    pub.kill('SIGKILL');
  };

  it('the MPD carries availabilityTimeOffset and a latency target; the open segment streams chunk by chunk', async () => {
    let mpd = '';
    await until(
      () => {
        void fetch(t.httpUrl('live/lld/index.mpd'))
          .then((r) => (r.ok ? r.text() : ''))
          .then((x) => {
            mpd = x;
          })
          .catch(() => {});
        return mpd.includes('<S ');
      },
      20_000,
      'an MPD with a segment',
    );
    expect(mpd).toMatch(/availabilityTimeOffset="[\d.]+"/);
    expect(mpd).toMatch(/availabilityTimeComplete="false"/);
    expect(mpd).toMatch(/<ServiceDescription/);
    const start = Number(/startNumber="(\d+)"/.exec(mpd)?.[1]);
    const count = (mpd.match(/<S /g) ?? []).length / 2; // two adaptation sets list the same timeline
    const next = start + count; // the segment being written
    const t0 = Date.now();
    const res = await fetch(t.httpUrl(`live/lld/dash/v/${next}.m4s`));
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    const firstByteMs = Date.now() - t0;
    const chunks = [Buffer.from(first.value!)];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(Buffer.from(value));
    }
    const body = Buffer.concat(chunks);
    // first CMAF chunk well before the 2 s segment is complete
    expect(firstByteMs).toBeLessThan(1500);
    const types = boxTypes(body);
    expect(types.filter((x) => x === 'moof').length).toBeGreaterThan(2);
    expect(types.every((x) => x === 'moof' || x === 'mdat')).toBe(true);
    // the streamed bytes are the complete segment's bytes
    const whole = Buffer.from(await (await fetch(t.httpUrl(`live/lld/dash/v/${next}.m4s`))).arrayBuffer());
    expect(whole.equals(body)).toBe(true);
  });
});
