/**
 * End to end: real media -> Track/Sample -> initSegment + fragments -> one file, checked with
 * ffprobe/ffmpeg 5.1 (codec, tag, size, clean decode, frame counts, timestamps, decoded frame hashes).
 * H.264+AAC from an ffmpeg-made FLV, HEVC from an ffmpeg-made MP4 (read with a minimal sample-table
 * reader below), AV1+Opus from the Veovera Enhanced FLV vector.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTool } from '../../../test/helpers/tools.js';
import { parseAudioSpecificConfig } from '../../media/codecs/aac.js';
import { parseAv1Config } from '../../media/codecs/av1.js';
import { parseAvcDecoderConfig, parseH264Sps } from '../../media/codecs/h264.js';
import { parseHevcDecoderConfig } from '../../media/codecs/hevc.js';
import { parseOpusHead } from '../../media/codecs/opus.js';
import type { AudioTrack, Sample, Track, VideoTrack } from '../../media/sample.js';
import { FlvReader } from '../flv/flv-reader.js';
import { parseAudioTagBody, parseVideoTagBody, VideoPacketType } from '../flv/tag-body.js';
import { fragment, type TrackRun } from './fragment.js';
import { initSegment } from './init-segment.js';
import { type BoxInfo, children, findBox, fullBoxHeader, readBoxes } from './inspect.js';

const HAVE_FFMPEG = hasTool('ffmpeg') && hasTool('ffprobe');
if (!HAVE_FFMPEG) console.warn('\n*** fMP4 interop tests SKIPPED: ffmpeg/ffprobe not installed ***\n');
const VECTOR = new URL('../../../../shared/vectors/enhanced-flv/testsrc.flv', import.meta.url);

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tidecast-fmp4-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function ffmpeg(...args: string[]): void {
  execFileSync('ffmpeg', ['-hide_banner', '-v', 'error', '-y', ...args], { cwd: dir, stdio: 'pipe' });
}

function probe(file: string, ...args: string[]): Record<string, unknown>[] {
  const out = execFileSync('ffprobe', ['-v', 'error', '-of', 'json', ...args, file], {
    cwd: dir,
    encoding: 'utf8',
  });
  const json = JSON.parse(out) as {
    streams?: Record<string, unknown>[];
    packets?: Record<string, unknown>[];
  };
  return json.streams ?? json.packets ?? [];
}

/** `ffmpeg -v error -i file -f null -`: whatever it prints is a decode/demux problem. */
function decodeErrors(file: string): string {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', '-i', file, '-f', 'null', '-'], {
    cwd: dir,
    encoding: 'utf8',
  });
  return `${r.stderr}${r.status === 0 ? '' : `exit ${r.status}`}`.trim();
}

/** Decoded frame hashes of one stream (framemd5 last column), to compare source and remux bit-exactly. */
function frameHashes(file: string, map: string): string[] {
  const out = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-map', map, '-f', 'framemd5', '-'], {
    cwd: dir,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  return out
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(',').pop()!.trim());
}

interface Media {
  tracks: Track[];
  samples: Map<number, Sample[]>;
  /** duration of a track's very last sample, ms */
  tail: Map<number, number>;
}

/**
 * init + one fragment per [cuts[i], cuts[i+1]) (by dts, every track), written to `name`. Each run's
 * lastDuration is the gap to the track's next sample, or the nominal tail at the end.
 */
function mux(m: Media, cuts: number[], name: string): Buffer {
  const bounds = [Number.NEGATIVE_INFINITY, ...cuts.slice(1), Number.POSITIVE_INFINITY];
  const parts = [initSegment(m.tracks)];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const runs: TrackRun[] = m.tracks.map((track) => {
      const all = m.samples.get(track.id)!;
      const samples = all.filter((s) => s.dts >= bounds[i] && s.dts < bounds[i + 1]);
      const next = all[all.indexOf(samples[samples.length - 1]) + 1];
      const last = samples[samples.length - 1];
      return { track, samples, lastDuration: last && next ? next.dts - last.dts : m.tail.get(track.id)! };
    });
    if (runs.some((r) => r.samples.length > 0)) parts.push(fragment(parts.length, runs));
  }
  const file = Buffer.concat(parts);
  writeFileSync(join(dir, name), file);
  return file;
}

/** Tracks and samples of an FLV file (legacy or enhanced), keeping the latest non-empty sequence headers. */
function readFlv(file: string): {
  video?: { config: Buffer; codec: string };
  audio?: { config: Buffer; codec: string };
  v: Sample[];
  a: Sample[];
} {
  const reader = new FlvReader();
  const tags = reader.push(readFileSync(file));
  reader.end();
  const out: ReturnType<typeof readFlv> = { v: [], a: [] };
  for (const tag of tags) {
    if (tag.type === 9) {
      const info = parseVideoTagBody(tag.body);
      const data = Buffer.from(tag.body.subarray(info.dataOffset, info.dataOffset + info.dataLength));
      if (info.isSequenceHeader) {
        if (data.length > 0) out.video = { config: data, codec: info.codec };
      } else if (
        info.packetType === VideoPacketType.CodedFrames ||
        info.packetType === VideoPacketType.CodedFramesX
      ) {
        const dts = tag.timestamp;
        out.v.push({ dts, pts: dts + info.compositionTime, keyframe: info.keyframe, data });
      }
    } else if (tag.type === 8) {
      const info = parseAudioTagBody(tag.body);
      const data = Buffer.from(tag.body.subarray(info.dataOffset, info.dataOffset + info.dataLength));
      if (info.isSequenceHeader) {
        if (data.length > 0) out.audio = { config: data, codec: info.codec };
      } else if (info.packetType === 1 && data.length > 0) {
        out.a.push({ dts: tag.timestamp, pts: tag.timestamp, keyframe: true, data });
      }
    }
  }
  return out;
}

const num = (v: unknown) => Number(v);

describe.skipIf(!HAVE_FFMPEG)('fMP4 interop: H.264 + AAC from FLV', () => {
  let media: Media;
  let flv: ReturnType<typeof readFlv>;
  beforeAll(() => {
    ffmpeg(
      ...['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine', '-t', '3'],
      ...['-c:v', 'libx264', '-g', '25', '-bf', '2', '-c:a', 'aac', '-f', 'flv', 'out.flv'],
    );
    flv = readFlv(join(dir, 'out.flv'));
    const avc = parseAvcDecoderConfig(flv.video!.config);
    const sps = parseH264Sps(avc.sps[0]);
    const asc = parseAudioSpecificConfig(flv.audio!.config);
    const video: VideoTrack = {
      kind: 'video',
      id: 1,
      codec: 'avc1',
      config: flv.video!.config,
      width: sps.width,
      height: sps.height,
      codecString: 'avc1',
    };
    const audio: AudioTrack = {
      kind: 'audio',
      id: 2,
      codec: 'mp4a',
      config: flv.audio!.config,
      sampleRate: asc.sampleRate,
      channels: asc.channels,
      codecString: 'mp4a.40.2',
    };
    media = {
      tracks: [video, audio],
      samples: new Map([
        [1, flv.v],
        [2, flv.a],
      ]),
      tail: new Map([
        [1, 40],
        [2, (1024 * 1000) / asc.sampleRate],
      ]),
    };
  });

  it('the FLV has B-frames (composition offsets) and one keyframe per second', () => {
    expect(flv.v).toHaveLength(75);
    expect(flv.v.filter((s) => s.keyframe)).toHaveLength(3);
    expect(flv.v.some((s) => s.pts > s.dts)).toBe(true);
  });

  it('init + one fragment per GOP: ffprobe sees h264 320x240 + aac, decodes cleanly, right counts', () => {
    const cuts = flv.v.filter((s) => s.keyframe).map((s) => s.dts);
    const file = mux(media, cuts, 'all.mp4');
    expect(readBoxes(file).map((b) => b.type)).toEqual([
      'ftyp',
      'moov',
      'moof',
      'mdat',
      'moof',
      'mdat',
      'moof',
      'mdat',
    ]);
    const streams = probe('all.mp4', '-count_frames', '-show_streams');
    expect(streams).toHaveLength(2);
    expect(streams[0]).toMatchObject({
      codec_name: 'h264',
      codec_tag_string: 'avc1',
      width: 320,
      height: 240,
    });
    expect(streams[1]).toMatchObject({ codec_name: 'aac', codec_tag_string: 'mp4a', sample_rate: '44100' });
    expect(num(streams[0].nb_read_frames)).toBe(75);
    expect(num(streams[1].nb_read_frames)).toBe(flv.a.length);
    // A fragmented file's stream duration is where its last sample ends on the tfdt timeline.
    const end = (s: Sample[], tail: number) => (s[s.length - 1].dts + tail) / 1000;
    expect(num(streams[0].duration)).toBeCloseTo(end(flv.v, 40), 3);
    expect(end(flv.v, 40)).toBeCloseTo(3.0, 1);
    expect(num(streams[1].duration)).toBeCloseTo(end(flv.a, 1024 / 44.1), 3);
    expect(decodeErrors('all.mp4')).toBe('');
  });

  it('packet timestamps equal the FLV ones; decoded frames are bit-identical to the source', () => {
    const ours = probe('all.mp4', '-select_streams', 'v', '-show_packets');
    const src = probe('out.flv', '-select_streams', 'v', '-show_packets');
    const times = (p: Record<string, unknown>[]) => p.map((x) => `${x.dts_time}/${x.pts_time}/${x.flags}`);
    expect(times(ours)).toEqual(times(src));
    expect(frameHashes('all.mp4', '0:v')).toEqual(frameHashes('out.flv', '0:v'));
    expect(frameHashes('all.mp4', '0:a')).toEqual(frameHashes('out.flv', '0:a'));
  });
});

// ---------------------------------------------------------------------------------------------
// HEVC: ffmpeg makes an MP4 (hvcC + B-frames); a minimal sample-table reader turns it into samples.

interface Mp4Track {
  timescale: number;
  entry: BoxInfo;
  config: Buffer;
  samples: { dts: number; cto: number; size: number; offset: number; sync: boolean }[];
}

/** First video track of a plain (non-fragmented) MP4: stsd/stts/ctts/stsz/stsc/stco/stss (§8.5-8.7). */
function readMp4Video(buf: Buffer): Mp4Track {
  const trak = children(buf, findBox(buf, ['moov'])).filter((b) => b.type === 'trak')[0];
  const mdia = children(buf, trak).find((b) => b.type === 'mdia')!;
  const mdhd = children(buf, mdia).find((b) => b.type === 'mdhd')!;
  const timescale = mdhd.payload.readUInt32BE(fullBoxHeader(mdhd).version === 1 ? 20 : 12);
  const minf = children(buf, mdia).find((b) => b.type === 'minf')!;
  const stbl = children(buf, children(buf, minf).find((b) => b.type === 'stbl')!);
  const get = (t: string) => stbl.find((b) => b.type === t);
  const stsd = get('stsd')!;
  const [entry] = readBoxes(buf, stsd.start + stsd.headerSize + 8, stsd.end);
  const config = children(buf, entry, 78).find((b) => b.type === 'hvcC')!.payload;
  const table = (b: BoxInfo | undefined, width: number) => {
    const rows: number[][] = [];
    if (!b) return rows;
    const n = b.payload.readUInt32BE(4);
    for (let i = 0; i < n; i++) {
      rows.push(Array.from({ length: width }, (_, k) => b.payload.readInt32BE(8 + (i * width + k) * 4)));
    }
    return rows;
  };
  const stsz = get('stsz')!.payload;
  const count = stsz.readUInt32BE(8);
  const sizes = Array.from(
    { length: count },
    (_, i) => stsz.readUInt32BE(0) || stsz.readUInt32BE(12 + i * 4),
  );
  const dts: number[] = [];
  let t = 0;
  for (const [n, delta] of table(get('stts'), 2)) {
    for (let i = 0; i < n; i++) {
      dts.push(t);
      t += delta;
    }
  }
  const ctts: number[] = [];
  for (const [n, off] of table(get('ctts'), 2)) for (let i = 0; i < n; i++) ctts.push(off);
  const stss = get('stss');
  const sync = new Set(table(stss, 1).map(([n]) => n - 1));
  const chunks = table(get('stco'), 1).map(([o]) => o >>> 0);
  const stsc = table(get('stsc'), 3);
  const samples: Mp4Track['samples'] = [];
  let s = 0;
  for (let c = 0; c < chunks.length; c++) {
    const per = stsc.filter(([first]) => first <= c + 1).pop()![1];
    let off = chunks[c];
    for (let k = 0; k < per && s < count; k++, s++) {
      samples.push({
        dts: dts[s],
        cto: ctts[s] ?? 0,
        size: sizes[s],
        offset: off,
        sync: !stss || sync.has(s),
      });
      off += sizes[s];
    }
  }
  return { timescale, entry, config, samples };
}

describe.skipIf(!HAVE_FFMPEG)('fMP4 interop: HEVC (hvc1)', () => {
  it('hvc1 + hvcC from an ffmpeg MP4: ffprobe reports hevc/hvc1, decodes identically', () => {
    ffmpeg(
      ...['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-t', '2', '-c:v', 'libx265'],
      ...['-x265-params', 'log-level=error:keyint=25:bframes=3', '-tag:v', 'hvc1', 'hevc.mp4'],
    );
    const src = readFileSync(join(dir, 'hevc.mp4'));
    const t = readMp4Video(src);
    expect(t.entry.type).toBe('hvc1');
    const hvcc = parseHevcDecoderConfig(t.config);
    const toMs = (ticks: number) => (ticks * 1000) / t.timescale;
    const samples: Sample[] = t.samples.map((s) => ({
      dts: toMs(s.dts),
      pts: toMs(s.dts + s.cto),
      keyframe: s.sync,
      data: src.subarray(s.offset, s.offset + s.size),
    }));
    expect(samples).toHaveLength(50);
    expect(samples.some((s) => s.pts !== s.dts)).toBe(true);
    const video: VideoTrack = {
      kind: 'video',
      id: 1,
      codec: 'hvc1',
      config: t.config,
      width: hvcc.width!,
      height: hvcc.height!,
      codecString: 'hvc1',
    };
    const cuts = samples.filter((s) => s.keyframe).map((s) => s.dts);
    expect(cuts.length).toBeGreaterThanOrEqual(2);
    mux(
      { tracks: [video], samples: new Map([[1, samples]]), tail: new Map([[1, 40]]) },
      cuts,
      'hevc-frag.mp4',
    );
    const [stream] = probe('hevc-frag.mp4', '-count_frames', '-show_streams');
    expect(stream).toMatchObject({ codec_name: 'hevc', codec_tag_string: 'hvc1', width: 320, height: 240 });
    expect(num(stream.nb_read_frames)).toBe(50);
    expect(decodeErrors('hevc-frag.mp4')).toBe('');
    expect(frameHashes('hevc-frag.mp4', '0:v')).toEqual(frameHashes('hevc.mp4', '0:v'));
  });
});

describe.skipIf(!HAVE_FFMPEG || !existsSync(VECTOR))(
  'fMP4 interop: AV1 + Opus from the Veovera E-FLV',
  () => {
    it('av01 + av1C and Opus + dOps: ffprobe reports av1 + opus and decodes cleanly', () => {
      const flv = readFlv(VECTOR.pathname);
      expect(flv.video?.codec).toBe('av01');
      expect(flv.audio?.codec).toBe('Opus');
      const av1 = parseAv1Config(flv.video!.config);
      const head = parseOpusHead(flv.audio!.config);
      const tracks: Track[] = [
        {
          kind: 'video',
          id: 1,
          codec: 'av01',
          config: flv.video!.config,
          width: av1.width!,
          height: av1.height!,
          codecString: 'av01',
        },
        {
          kind: 'audio',
          id: 2,
          codec: 'Opus',
          config: flv.audio!.config,
          sampleRate: 48000,
          channels: head.channels,
          codecString: 'opus',
        },
      ];
      // One key frame in the whole file: cut fragments every 2 s anyway (a fragment needs no sync sample).
      const cuts = [0, 2000, 4000, 6000, 8000];
      const file = mux(
        {
          tracks,
          samples: new Map([
            [1, flv.v],
            [2, flv.a],
          ]),
          tail: new Map([
            [1, 33],
            [2, 20],
          ]),
        },
        cuts,
        'av1-opus.mp4',
      );
      expect(readBoxes(file).filter((b) => b.type === 'moof')).toHaveLength(5);
      const streams = probe('av1-opus.mp4', '-count_frames', '-show_streams');
      expect(streams).toHaveLength(2);
      expect(streams[0]).toMatchObject({
        codec_name: 'av1',
        codec_tag_string: 'av01',
        width: 980,
        height: 540,
      });
      expect(streams[1]).toMatchObject({
        codec_name: 'opus',
        codec_tag_string: 'Opus',
        sample_rate: '48000',
      });
      expect(num(streams[0].nb_read_frames)).toBe(flv.v.length);
      expect(num(streams[1].nb_read_frames)).toBe(flv.a.length);
      expect(decodeErrors('av1-opus.mp4')).toBe('');
    });
  },
);
