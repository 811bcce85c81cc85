import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTool, media, run } from '../../../test/helpers/tools.js';
import { TidecastError } from '../../errors.js';
import { parseAudioSpecificConfig } from '../../media/codecs/aac.js';
import { avcCodecString, parseAvcDecoderConfig, parseH264Sps } from '../../media/codecs/h264.js';
import type { AudioTrack, Sample, VideoTrack } from '../../media/sample.js';
import { FlvReader } from '../flv/flv-reader.js';
import { parseAudioTagBody, parseVideoTagBody } from '../flv/tag-body.js';
import { type ParsedPacket, parsePacket, TS_PACKET_SIZE } from './packets.js';
import { readTimestamp } from './pes.js';
import { AUDIO_PID, PMT_PID, TS_TIME_OFFSET_MS, TsMuxer, VIDEO_PID } from './ts-muxer.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
/** 90 kHz ticks for an input time in ms (the muxer's documented offset included). */
const ticks = (ms: number) => Math.round((ms + TS_TIME_OFFSET_MS) * 90);

// ---------------------------------------------------------------------------------------------------------
// A small checking demuxer: asserts the packet-level invariants and reassembles PES packets.

interface Pes {
  pid: number;
  streamId: number;
  pts: number;
  dts: number;
  data: Buffer;
  /** the first packet of the PES and its index in the stream */
  first: ParsedPacket;
  index: number;
}

interface Demuxed {
  packets: ParsedPacket[];
  pes: Pes[];
  /** [packet index, PCR] in stream order */
  pcrs: Array<[number, number]>;
}

function parsePes(pid: number, first: ParsedPacket, index: number, buf: Buffer): Pes {
  expect(buf.subarray(0, 3)).toEqual(hex('000001'));
  const flags = buf[7] >> 6;
  expect(flags === 2 || flags === 3).toBe(true);
  const pts = readTimestamp(buf, 9);
  const dts = flags === 3 ? readTimestamp(buf, 14) : pts;
  expect(pts).toBeDefined(); // undefined = a marker bit is wrong
  expect(dts).toBeDefined();
  const declared = buf.readUInt16BE(4);
  if (declared !== 0) expect(declared).toBe(buf.length - 6);
  return { pid, streamId: buf[3], pts: pts!, dts: dts!, data: buf.subarray(9 + buf[8]), first, index };
}

/**
 * Checks: every packet has the sync byte and a known PID; CCs advance by one per payload packet of a PID
 * (across the whole buffer, so across segments) and repeat on adaptation-only packets.
 */
function demux(ts: Buffer, pids = [0, PMT_PID, VIDEO_PID, AUDIO_PID]): Demuxed {
  expect(ts.length % TS_PACKET_SIZE).toBe(0);
  const out: Demuxed = { packets: [], pes: [], pcrs: [] };
  const lastCc = new Map<number, number>();
  const open = new Map<number, { first: ParsedPacket; index: number; parts: Buffer[] }>();
  const close = (pid: number) => {
    const o = open.get(pid);
    if (o) out.pes.push(parsePes(pid, o.first, o.index, Buffer.concat(o.parts)));
    open.delete(pid);
  };
  for (let off = 0; off < ts.length; off += TS_PACKET_SIZE) {
    const p = parsePacket(ts, off);
    out.packets.push(p);
    expect(pids).toContain(p.pid);
    const prev = lastCc.get(p.pid);
    if (p.hasPayload) {
      if (prev !== undefined) expect(p.continuityCounter, `CC on PID ${p.pid}`).toBe((prev + 1) & 0x0f);
      lastCc.set(p.pid, p.continuityCounter);
    } else if (prev !== undefined) {
      expect(p.continuityCounter).toBe(prev);
    }
    if (p.pcr !== undefined) out.pcrs.push([out.packets.length - 1, p.pcr]);
    if (p.pid === VIDEO_PID || p.pid === AUDIO_PID) {
      if (p.payloadUnitStart) {
        close(p.pid);
        open.set(p.pid, { first: p, index: out.packets.length - 1, parts: [p.payload] });
      } else if (p.hasPayload) {
        expect(open.has(p.pid)).toBe(true);
        open.get(p.pid)!.parts.push(p.payload);
      }
    }
  }
  for (const pid of [...open.keys()]) close(pid);
  return out;
}

/** PCRs never go back and are at most `maxGapMs` apart; each one is <= the DTS of the next PES. */
function checkPcr(d: Demuxed, maxGapMs = 100): void {
  expect(d.pcrs.length).toBeGreaterThan(0);
  for (let i = 1; i < d.pcrs.length; i++) {
    const gap = d.pcrs[i][1] - d.pcrs[i - 1][1];
    expect(gap).toBeGreaterThanOrEqual(0);
    expect(gap / 90, `PCR gap before packet ${d.pcrs[i][0]}`).toBeLessThanOrEqual(maxGapMs);
  }
  const pes = [...d.pes].sort((x, y) => x.index - y.index);
  let j = 0;
  for (const [idx, pcr] of d.pcrs) {
    while (j < pes.length && pes[j].index < idx) j++;
    if (j < pes.length) expect(pcr).toBeLessThanOrEqual(pes[j].dts);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Synthetic tracks.

const AVCC = hex('0142c01effe100196742c01ed900a02ff97011000003000100000300320f162e4801000568cb83cb20');
const VIDEO: VideoTrack = {
  kind: 'video',
  id: 1,
  codec: 'avc1',
  config: AVCC,
  width: 640,
  height: 360,
  codecString: 'avc1.42c01e',
};
const AUDIO: AudioTrack = {
  kind: 'audio',
  id: 2,
  codec: 'mp4a',
  config: hex('1190'),
  sampleRate: 48000,
  channels: 2,
  codecString: 'mp4a.40.2',
};

function lp(nal: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(nal.length);
  return Buffer.concat([len, nal]);
}
function videoSample(dts: number, cts: number, keyframe: boolean, size = 300): Sample {
  const nal = Buffer.alloc(size, 0x11);
  nal[0] = keyframe ? 0x65 : 0x41;
  return { dts, pts: dts + cts, keyframe, data: lp(nal) };
}
const audioSample = (t: number, size = 200): Sample => ({
  dts: t,
  pts: t,
  keyframe: true,
  data: Buffer.alloc(size, 0x21),
});

/** 25 fps video (2 B-frame pattern, keyframe every `gop`) + 48 kHz AAC in groups of 3, segments per GOP. */
function muxSynthetic(mux: TsMuxer, seconds: number, gop = 25, fps = 25) {
  const segments: Buffer[] = [];
  let cur: Buffer[] = [];
  const video: Sample[] = [];
  const audio: Sample[][] = [];
  let a = 0;
  const frameMs = 1000 / fps;
  for (let i = 0; i < seconds * fps; i++) {
    const dts = i * frameMs;
    const key = i % gop === 0;
    if (key) {
      if (cur.length) segments.push(Buffer.concat(cur));
      cur = [mux.segmentStart()];
    }
    const s = videoSample(dts, key ? 0 : [2, 0, 0][i % 3] * frameMs, key, key ? 5000 : 700);
    video.push(s);
    cur.push(mux.writeVideo(s));
    while (a * (1024 / 48) < dts + frameMs) {
      const group = [0, 1, 2].map((k) => audioSample((a + k) * (1024 / 48)));
      audio.push(group);
      cur.push(mux.writeAudio(group));
      a += 3;
    }
  }
  segments.push(Buffer.concat(cur));
  return { segments, video, audio };
}

describe('TsMuxer (synthetic input)', () => {
  it('starts every segment with PAT + PMT and keeps all CCs continuous across segments', () => {
    const { segments } = muxSynthetic(new TsMuxer({ video: VIDEO, audio: AUDIO }), 4);
    expect(segments).toHaveLength(4);
    for (const seg of segments) {
      const d = demux(seg);
      expect(d.packets[0].pid).toBe(0);
      expect(d.packets[1].pid).toBe(PMT_PID);
      expect(d.packets[0].payload.subarray(0, 13)).toEqual(hex('00 00b00d0001c100000001f000'));
      // PMT: PCR_PID 0x100, H.264 on 0x100, AAC on 0x101.
      expect(d.packets[1].payload.subarray(1, 23)).toEqual(
        hex('02b0170001c10000e100f0001be100f0000fe101f000'),
      );
      // The first PES is the keyframe, flagged random access and carrying a PCR.
      expect(d.pes[0].pid).toBe(VIDEO_PID);
      expect(d.pes[0].first.randomAccess).toBe(true);
      expect(d.pes[0].first.pcr).toBeDefined();
    }
    const all = demux(Buffer.concat(segments)); // CC continuity across segment boundaries
    const patCcs = all.packets.filter((p) => p.pid === 0).map((p) => p.continuityCounter);
    expect(patCcs).toEqual([0, 1, 2, 3]);
    checkPcr(all);
  });

  it('writes PTS/DTS (+1.4 s, 90 kHz) that decode back to the inputs, DTS only when different', () => {
    const { segments, video, audio } = muxSynthetic(new TsMuxer({ video: VIDEO, audio: AUDIO }), 2);
    const d = demux(Buffer.concat(segments));
    const vPes = d.pes.filter((p) => p.pid === VIDEO_PID);
    const aPes = d.pes.filter((p) => p.pid === AUDIO_PID);
    expect(vPes.map((p) => [p.pts, p.dts])).toEqual(video.map((s) => [ticks(s.pts), ticks(s.dts)]));
    expect(aPes.map((p) => p.pts)).toEqual(audio.map((g) => ticks(g[0].pts)));
    expect(vPes[0].pts).toBe(126000);
    for (const p of d.pes) expect(p.streamId).toBe(p.pid === VIDEO_PID ? 0xe0 : 0xc0);
    // Keyframes: AUD, SPS, PPS, IDR; other frames: AUD + slice. Audio: ADTS frames back to back.
    expect(vPes[0].data.subarray(0, 12)).toEqual(hex('00000001 09f0 00000001 6742'));
    expect(vPes[1].data.subarray(0, 13)).toEqual(hex('00000001 09f0 00000001 41 1111'));
    expect(aPes[0].data.length).toBe(3 * 207);
    expect(aPes[0].data.subarray(207, 214)).toEqual(hex('fff14c8019fffc'));
    // PCR on every keyframe (in fact on every video PES), random access only on keyframes.
    for (const [i, p] of vPes.entries()) {
      expect(p.first.pcr).toBeDefined();
      expect(p.first.randomAccess).toBe(video[i].keyframe);
    }
  });

  it('inserts PCR-only packets so that PCRs stay <= 100 ms apart with low-frame-rate video', () => {
    const { segments } = muxSynthetic(new TsMuxer({ video: VIDEO, audio: AUDIO }), 3, 10, 5);
    const d = demux(Buffer.concat(segments));
    expect(d.packets.some((p) => !p.hasPayload && p.pid === VIDEO_PID)).toBe(true);
    checkPcr(d);
  });

  it('carries the PCR on the audio PID when there is no video', () => {
    const mux = new TsMuxer({ audio: AUDIO });
    expect(mux.pcrPid).toBe(AUDIO_PID);
    const parts = [mux.segmentStart()];
    for (let t = 0; t < 1000; t += 3 * (1024 / 48)) {
      parts.push(mux.writeAudio([0, 1, 2].map((k) => audioSample(t + (k * 1024) / 48))));
    }
    const d = demux(Buffer.concat(parts));
    expect(d.packets[1].payload.subarray(1, 18)).toEqual(hex('02b0120001c10000e101f0000fe101f000'));
    expect(d.pes.every((p) => p.first.pcr !== undefined && p.first.randomAccess)).toBe(true);
    checkPcr(d);
    expect(() => mux.writeVideo(videoSample(0, 0, true))).toThrow(/no video/);
  });

  it('splits an audio group too large for one bounded PES', () => {
    const mux = new TsMuxer({ audio: AUDIO });
    const group = Array.from({ length: 12 }, (_, k) => audioSample(k * 21.333, 8000));
    const d = demux(Buffer.concat([mux.segmentStart(), mux.writeAudio(group)]));
    expect(d.pes.length).toBe(2);
    expect(d.pes.map((p) => p.data.length)).toEqual([8 * 8007, 4 * 8007]);
    expect(d.pes[1].pts).toBe(ticks(8 * 21.333));
    expect(mux.writeAudio([])).toHaveLength(0);
  });

  it('flags a PCR discontinuity when the timeline restarts', () => {
    const mux = new TsMuxer({ video: VIDEO });
    const parts = [mux.segmentStart(), mux.writeVideo(videoSample(60_000, 0, true))];
    parts.push(mux.writeVideo(videoSample(60_040, 0, false)));
    parts.push(mux.segmentStart(), mux.writeVideo(videoSample(0, 0, true)));
    const d = demux(Buffer.concat(parts));
    expect(d.pes.map((p) => p.first.discontinuity)).toEqual([false, false, true]);
    expect(d.pes[2].first.pcr).toBe(ticks(-700));
  });

  it('clamps PTS < DTS to DTS and wraps timestamps at 2^33', () => {
    const mux = new TsMuxer({ video: VIDEO });
    const late = 2 ** 33 / 90 + 10_000; // past the 33-bit wrap
    const d = demux(
      Buffer.concat([
        mux.segmentStart(),
        mux.writeVideo({ ...videoSample(1000, 0, true), pts: 960 }),
        mux.writeVideo(videoSample(late, 0, false)),
      ]),
    );
    expect(d.pes[0].pts).toBe(ticks(1000));
    expect(d.pes[0].dts).toBe(ticks(1000));
    expect(d.pes[1].pts).toBe(ticks(late) % 2 ** 33);
  });

  it('rejects unsupported codecs and empty track sets with CODEC_BAD_CONFIG', () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return err instanceof TidecastError ? err.code : String(err);
      }
      return 'no error';
    };
    expect(code(() => new TsMuxer({}))).toBe('CODEC_BAD_CONFIG');
    expect(code(() => new TsMuxer({ video: { ...VIDEO, codec: 'av01' } }))).toBe('CODEC_BAD_CONFIG');
    expect(code(() => new TsMuxer({ audio: { ...AUDIO, codec: 'Opus' } }))).toBe('CODEC_BAD_CONFIG');
    expect(code(() => new TsMuxer({ video: { ...VIDEO, config: hex('0142') } }))).toBe('CODEC_BAD_CONFIG');
    expect(code(() => new TsMuxer({ audio: { ...AUDIO, config: hex('b9') } }))).toBe('CODEC_BAD_CONFIG');
  });
});

// ---------------------------------------------------------------------------------------------------------
// End to end with real media: ffmpeg makes an H.264/AAC FLV (and raw HEVC), we mux, ffprobe/ffmpeg judge.

const HAVE_FFMPEG = hasTool('ffmpeg') && hasTool('ffprobe');

interface FlvMedia {
  video: VideoTrack;
  audio: AudioTrack;
  /** in FLV order */
  events: Array<{ kind: 'video' | 'audio'; sample: Sample }>;
}

function readFlv(file: string): FlvMedia {
  const reader = new FlvReader();
  const tags = reader.push(readFileSync(file));
  reader.end();
  let video: VideoTrack | undefined;
  let audio: AudioTrack | undefined;
  const events: FlvMedia['events'] = [];
  for (const tag of tags) {
    if (tag.type === 9) {
      const v = parseVideoTagBody(tag.body);
      const data = tag.body.subarray(v.dataOffset, v.dataOffset + v.dataLength);
      if (v.isSequenceHeader) {
        const cfg = parseAvcDecoderConfig(data);
        const sps = parseH264Sps(cfg.sps[0]);
        video = {
          kind: 'video',
          id: 1,
          codec: 'avc1',
          config: Buffer.from(data),
          width: sps.width,
          height: sps.height,
          codecString: avcCodecString(cfg),
        };
      } else if (!v.isSequenceEnd && v.dataLength > 0) {
        const sample = {
          dts: tag.timestamp,
          pts: tag.timestamp + v.compositionTime,
          keyframe: v.keyframe,
          data,
        };
        events.push({ kind: 'video', sample });
      }
    } else if (tag.type === 8) {
      const a = parseAudioTagBody(tag.body);
      const data = tag.body.subarray(a.dataOffset, a.dataOffset + a.dataLength);
      if (a.isSequenceHeader) {
        const asc = parseAudioSpecificConfig(data);
        audio = {
          kind: 'audio',
          id: 2,
          codec: 'mp4a',
          config: Buffer.from(data),
          sampleRate: asc.sampleRate,
          channels: asc.channels,
          codecString: 'mp4a.40.2',
        };
      } else if (a.dataLength > 0) {
        events.push({
          kind: 'audio',
          sample: { dts: tag.timestamp, pts: tag.timestamp, keyframe: true, data },
        });
      }
    }
  }
  if (!video || !audio) throw new Error('FLV without both sequence headers');
  return { video, audio, events };
}

/** Muxes in FLV order, cutting a segment at every keyframe; audio goes out in PES of up to 3 frames. */
function muxFlv(media: FlvMedia): Buffer[] {
  const mux = new TsMuxer({ video: media.video, audio: media.audio });
  const segments: Buffer[] = [];
  let cur: Buffer[] = [mux.segmentStart()];
  let curHasVideo = false;
  let pending: Sample[] = [];
  const flushAudio = () => {
    if (pending.length) cur.push(mux.writeAudio(pending));
    pending = [];
  };
  for (const ev of media.events) {
    if (ev.kind === 'audio') {
      pending.push(ev.sample);
      if (pending.length === 3) flushAudio();
      continue;
    }
    if (ev.sample.keyframe && curHasVideo) {
      flushAudio();
      segments.push(Buffer.concat(cur));
      cur = [mux.segmentStart()];
      curHasVideo = false;
    }
    cur.push(mux.writeVideo(ev.sample));
    curHasVideo = true;
  }
  flushAudio();
  segments.push(Buffer.concat(cur));
  return segments;
}

async function ffprobeJson(file: string, args: string[]): Promise<Record<string, unknown[]>> {
  const r = await run('ffprobe', ['-v', 'error', ...args, '-of', 'json', file]);
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout);
}

async function expectCleanDecode(file: string): Promise<void> {
  const r = await run('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-i', file, '-f', 'null', '-']);
  expect(r.stderr, `decode errors in ${file}`).toBe('');
  expect(r.code).toBe(0);
}

describe.skipIf(!HAVE_FFMPEG)('TsMuxer end to end (ffmpeg/ffprobe as judges)', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tidecast-ts-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('muxes ffmpeg H.264 (B-frames) + AAC from FLV into segments ffmpeg decodes cleanly', async () => {
    const flv = join(dir, 'out.flv');
    const made = await run('ffmpeg', [
      ...['-hide_banner', '-nostdin', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25'],
      ...['-f', 'lavfi', '-i', 'sine', '-t', '3', '-c:v', 'libx264', '-g', '25', '-bf', '2'],
      ...['-c:a', 'aac', '-f', 'flv', flv],
    ]);
    expect(made.code, made.stderr).toBe(0);
    const media = readFlv(flv);
    const videoSamples = media.events.filter((e) => e.kind === 'video').map((e) => e.sample);
    const audioSamples = media.events.filter((e) => e.kind === 'audio').map((e) => e.sample);
    expect(videoSamples.some((s) => s.pts !== s.dts)).toBe(true); // B-frames really are there

    const segments = muxFlv(media);
    expect(segments.length).toBe(3);
    const files = segments.map((seg, i) => {
      const f = join(dir, `seg${i}.ts`);
      writeFileSync(f, seg);
      return f;
    });
    for (const f of files) {
      const { streams } = await ffprobeJson(f, ['-show_streams']);
      expect(streams).toHaveLength(2);
      expect(streams[0]).toMatchObject({ codec_name: 'h264', width: 320, height: 240 });
      expect(streams[1]).toMatchObject({
        codec_name: 'aac',
        sample_rate: '44100',
        channels: 1,
        profile: 'LC',
      });
      await expectCleanDecode(f);
    }

    const all = join(dir, 'all.ts');
    const joined = Buffer.concat(segments);
    writeFileSync(all, joined);
    const ccErrors = async (file: string) => {
      const r = await run('ffmpeg', [
        '-hide_banner',
        '-nostdin',
        '-v',
        'debug',
        '-i',
        file,
        '-f',
        'null',
        '-',
      ]);
      expect(r.stderr).toContain(' 0 decoding errors');
      return r.stderr.split('\n').filter((l) => l.includes('Continuity check failed'));
    };
    expect(await ccErrors(all)).toEqual([]);
    // Negative control: the same check does catch a broken counter (PAT CC of the second segment).
    const broken = Buffer.from(joined);
    broken[segments[0].length + 3] ^= 0x05;
    writeFileSync(join(dir, 'broken.ts'), broken);
    expect((await ccErrors(join(dir, 'broken.ts'))).join('\n')).toMatch(/pid 0 expected 1 got/);
    await expectCleanDecode(all);

    // Every input frame comes out once, with the timestamps we put in (ffprobe reports 90 kHz ticks).
    const { packets } = (await ffprobeJson(all, ['-show_entries', 'packet=stream_index,pts,dts,flags'])) as {
      packets: Array<{ stream_index: number; pts: number; dts: number; flags: string }>;
    };
    const v = packets.filter((p) => p.stream_index === 0);
    const a = packets.filter((p) => p.stream_index === 1);
    expect(v.map((p) => [p.pts, p.dts])).toEqual(videoSamples.map((s) => [ticks(s.pts), ticks(s.dts)]));
    expect(v.map((p) => p.flags.startsWith('K'))).toEqual(videoSamples.map((s) => s.keyframe));
    expect(a).toHaveLength(audioSamples.length);

    // Our own packet-level checks on the real stream: CCs, PCR cadence, PCR on every keyframe.
    const d = demux(joined);
    checkPcr(d);
    const vPes = d.pes.filter((p) => p.pid === VIDEO_PID);
    expect(vPes).toHaveLength(videoSamples.length);
    for (const [i, p] of vPes.entries()) {
      expect(p.first.randomAccess).toBe(videoSamples[i].keyframe);
      if (videoSamples[i].keyframe) expect(p.first.pcr).toBeDefined();
    }
  });

  it.each(['h264-aac-360p.flv', 'h264-aac-720p.flv'])(
    'remuxes the project test media %s cleanly',
    async (name) => {
      const src = media(name);
      if (!existsSync(src)) {
        console.warn(`\n*** test-media/${name} missing (made by the global setup): test SKIPPED ***\n`);
        return;
      }
      const flv = readFlv(src);
      const segments = muxFlv(flv);
      const file = join(dir, name.replace('.flv', '.ts'));
      const joined = Buffer.concat(segments);
      writeFileSync(file, joined);
      // One decode pass at debug level with level tags: no error lines, no CC complaints.
      const args = ['-hide_banner', '-nostdin', '-v', 'level+debug', '-i', file, '-f', 'null', '-'];
      const r = await run('ffmpeg', args);
      expect(r.code).toBe(0);
      expect(r.stderr.split('\n').filter((l) => /\[(error|fatal|panic)\]/.test(l))).toEqual([]);
      expect(r.stderr).not.toMatch(/Continuity check failed/);
      expect(r.stderr).toContain(' 0 decoding errors');
      const { streams } = await ffprobeJson(file, ['-show_streams', '-count_packets']);
      const count = (kind: string) => flv.events.filter((e) => e.kind === kind).length;
      expect(streams[0]).toMatchObject({
        codec_name: 'h264',
        width: flv.video.width,
        height: flv.video.height,
      });
      expect(streams[0]).toMatchObject({ nb_read_packets: String(count('video')) });
      expect(streams[1]).toMatchObject({ codec_name: 'aac', nb_read_packets: String(count('audio')) });
      checkPcr(demux(joined));
    },
  );

  it('muxes HEVC (x265, parameter sets only in the hvcC) into a stream ffmpeg decodes cleanly', async (ctx) => {
    const raw = join(dir, 'x.hevc');
    const made = await run('ffmpeg', [
      ...['-hide_banner', '-nostdin', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25'],
      ...[
        '-t',
        '2',
        '-c:v',
        'libx265',
        '-x265-params',
        'keyint=25:bframes=0:log-level=error',
        '-f',
        'hevc',
        raw,
      ],
    ]);
    if (made.code !== 0) {
      console.warn(`\n*** ffmpeg cannot encode HEVC (libx265 missing?): HEVC end-to-end test SKIPPED ***\n`);
      ctx.skip();
    }
    const { hvcC, frames } = hevcFromAnnexB(readFileSync(raw));
    expect(frames.length).toBe(50);
    const mux = new TsMuxer({
      video: {
        kind: 'video',
        id: 1,
        codec: 'hvc1',
        config: hvcC,
        width: 320,
        height: 240,
        codecString: 'hvc1',
      },
    });
    const parts: Buffer[] = [];
    frames.forEach((f, i) => {
      if (f.keyframe) parts.push(mux.segmentStart());
      parts.push(mux.writeVideo({ dts: i * 40, pts: i * 40, keyframe: f.keyframe, data: f.data }));
    });
    const ts = Buffer.concat(parts);
    const file = join(dir, 'hevc.ts');
    writeFileSync(file, ts);
    const { streams } = await ffprobeJson(file, ['-show_streams', '-count_frames']);
    expect(streams).toHaveLength(1);
    expect(streams[0]).toMatchObject({ codec_name: 'hevc', width: 320, height: 240, nb_read_frames: '50' });
    await expectCleanDecode(file);
    // The second segment on its own: starts with VPS/SPS/PPS inserted from the hvcC, so it decodes alone.
    const second = ts.subarray(parts[0].length + parts.slice(1, 26).reduce((n, b) => n + b.length, 0));
    const secondFile = join(dir, 'hevc-seg1.ts');
    writeFileSync(secondFile, second);
    await expectCleanDecode(secondFile);
    const d = demux(ts, [0, PMT_PID, VIDEO_PID]);
    expect(d.packets[1].payload.subarray(1, 18)).toEqual(hex('02b0120001c10000e100f00024e100f000'));
    expect(d.pes[0].data.subarray(0, 13)).toEqual(hex('00000001 460150 00000001 4001')); // AUD, VPS
    checkPcr(d);
  });
});

/**
 * Splits an x265 Annex B stream into access units (a new one starts at a parameter set / prefix SEI / AUD
 * or at a slice with first_slice_segment_in_pic_flag after the current unit has a slice), builds an hvcC
 * from the first VPS/SPS/PPS and returns the frames length-prefixed and without in-band parameter sets.
 */
function hevcFromAnnexB(stream: Buffer): {
  hvcC: Buffer;
  frames: Array<{ keyframe: boolean; data: Buffer }>;
} {
  const nals: Buffer[] = [];
  let start = -1;
  for (let i = 0; i + 3 <= stream.length; i++) {
    if (stream[i] === 0 && stream[i + 1] === 0 && stream[i + 2] === 1) {
      if (start >= 0) nals.push(stream.subarray(start, i));
      start = i + 3;
      i += 2;
    }
  }
  nals.push(stream.subarray(start));
  const trimmed = nals.map((n) => {
    let end = n.length;
    while (end > 0 && n[end - 1] === 0) end--;
    return n.subarray(0, end);
  });
  const sets = new Map<number, Buffer>();
  const aus: Buffer[][] = [];
  let cur: Buffer[] = [];
  let curHasSlice = false;
  for (const n of trimmed) {
    const type = (n[0] >> 1) & 0x3f;
    const vcl = type < 32;
    const startsAu = vcl ? (n[2] & 0x80) !== 0 : [32, 33, 34, 35, 39].includes(type);
    if (startsAu && curHasSlice) {
      aus.push(cur);
      cur = [];
      curHasSlice = false;
    }
    if (type >= 32 && type <= 34) {
      if (!sets.has(type)) sets.set(type, n);
      continue; // out of band only
    }
    cur.push(n);
    curHasSlice ||= vcl;
  }
  if (cur.length) aus.push(cur);
  const header = Buffer.alloc(23);
  header[0] = 1;
  header[21] = 0x0f; // lengthSizeMinusOne = 3
  header[22] = 3;
  const arrays = [32, 33, 34].map((t) => {
    const n = sets.get(t)!;
    const a = Buffer.alloc(5);
    a[0] = 0x80 | t;
    a.writeUInt16BE(1, 1);
    a.writeUInt16BE(n.length, 3);
    return Buffer.concat([a, n]);
  });
  const frames = aus.map((au) => ({
    keyframe: au.some((n) => {
      const t = (n[0] >> 1) & 0x3f;
      return t >= 16 && t <= 23;
    }),
    data: Buffer.concat(au.map(lp)),
  }));
  return { hvcC: Buffer.concat([header, ...arrays]), frames };
}
