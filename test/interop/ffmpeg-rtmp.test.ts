import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { ffmpegPublish, hasTool, media, run, stop } from '../helpers/tools.js';

const tools = hasTool('ffmpeg') && hasTool('ffprobe');

/** Real ffmpeg publishes; real ffprobe/ffmpeg/rtmpdump play over RTMP and HTTP-FLV. */
describe.skipIf(!tools)('interop: ffmpeg publishes, real clients play', () => {
  let t: TestServer;
  let pub: ChildProcess;

  beforeAll(async () => {
    t = await startTestServer();
    pub = ffmpegPublish(t.rtmpUrl('live/cam1'), media('h264-aac-720p.flv'));
    await t.waitLive('live', 'cam1');
  });
  afterAll(async () => {
    await stop(pub);
    await t.close();
  });

  const probeArgs = [
    '-v',
    'error',
    '-show_entries',
    'stream=codec_name,width,height,sample_rate',
    '-of',
    'json',
  ];

  it('ffprobe reads codecs and resolution over RTMP', async () => {
    const r = await run('ffprobe', [...probeArgs, '-rw_timeout', '10000000', t.rtmpUrl('live/cam1')], 20_000);
    expect(r.code, r.stderr).toBe(0);
    const streams = JSON.parse(r.stdout).streams as Array<Record<string, unknown>>;
    expect(streams).toContainEqual(expect.objectContaining({ codec_name: 'h264', width: 1280, height: 720 }));
    expect(streams).toContainEqual(expect.objectContaining({ codec_name: 'aac', sample_rate: '48000' }));
  });

  it('ffprobe reads codecs and resolution over HTTP-FLV', async () => {
    const r = await run('ffprobe', [...probeArgs, t.httpUrl('live/cam1.flv')], 20_000);
    expect(r.code, r.stderr).toBe(0);
    const streams = JSON.parse(r.stdout).streams as Array<Record<string, unknown>>;
    expect(streams).toContainEqual(expect.objectContaining({ codec_name: 'h264', width: 1280, height: 720 }));
    expect(streams).toContainEqual(expect.objectContaining({ codec_name: 'aac' }));
  });

  for (const proto of ['rtmp', 'http-flv'] as const) {
    it(`ffmpeg decodes 4 s over ${proto} with no errors`, async () => {
      const url = proto === 'rtmp' ? t.rtmpUrl('live/cam1') : t.httpUrl('live/cam1.flv');
      const r = await run('ffmpeg', ['-v', 'error', '-i', url, '-t', '4', '-f', 'null', '-'], 30_000);
      expect(r.code).toBe(0);
      expect(r.stderr.trim()).toBe('');
    });
  }

  it.skipIf(!hasTool('rtmpdump'))('rtmpdump records a playable FLV', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tidecast-'));
    const out = join(dir, 'rec.flv');
    // -v = live; rtmpdump records until interrupted (SIGINT after 5 s), then closes the file cleanly
    const r = await run('rtmpdump', ['-q', '-v', '-r', t.rtmpUrl('live/cam1'), '-o', out], 5_000);
    expect(statSync(out).size, r.stderr).toBeGreaterThan(100_000);
    const p = await run('ffprobe', [...probeArgs, out]);
    expect(p.code, p.stderr).toBe(0);
    const streams = JSON.parse(p.stdout).streams as Array<Record<string, unknown>>;
    expect(streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    const dec = await run('ffmpeg', ['-v', 'error', '-i', out, '-f', 'null', '-']);
    expect(dec.stderr.trim()).toBe('');
  });

  it.skipIf(!hasTool('rtmpdump'))(
    'digest ("complex") handshake: rtmpdump in SWF-verification mode accepts our server',
    async () => {
      // -s/-w/-x force librtmp's FP9 handshake offline; it aborts unless S1's digest and S2's signature validate
      const dir = mkdtempSync(join(tmpdir(), 'tidecast-'));
      const out = join(dir, 'digest.flv');
      const swfHash = '0'.repeat(64);
      const r = await run(
        'rtmpdump',
        [
          '-z',
          '-v',
          '-s',
          'http://x/p.swf',
          '-w',
          swfHash,
          '-x',
          '1000',
          '-r',
          t.rtmpUrl('live/cam1'),
          '-o',
          out,
        ],
        4_000,
      );
      expect(r.stderr).toContain('Genuine Adobe Flash Media Server');
      expect(r.stderr).toContain('Handshaking finished');
      expect(statSync(out).size).toBeGreaterThan(50_000);
      expect(t.logs.some((l) => l.msg === 'handshake done' && l.mode === 'digest')).toBe(true);
    },
  );

  it('a second publisher on the same name is refused', async () => {
    const second = await run(
      'ffmpeg',
      [
        '-v',
        'error',
        '-re',
        '-i',
        media('h264-aac-360p.flv'),
        '-c',
        'copy',
        '-t',
        '3',
        '-f',
        'flv',
        t.rtmpUrl('live/cam1'),
      ],
      15_000,
    );
    expect(second.code).not.toBe(0);
    expect(t.server.registry.get('live', 'cam1')?.live).toBe(true);
    expect(t.server.counters.get('publish_rejected', 'busy')).toBeGreaterThan(0);
  });
});
