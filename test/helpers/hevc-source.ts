/**
 * An HEVC + AAC Enhanced RTMP publisher built from our own RTMP client (Debian's ffmpeg 5.1 cannot publish
 * HEVC over RTMP). The media comes from an MP4 via ffmpeg (HEVC as Annex-B, AAC as ADTS) and is repackaged
 * here, independently of the server's codec code: Annex-B NAL units are grouped into access units, the
 * HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3.1) is built from the VPS/SPS/PPS, and timestamps
 * and composition offsets come from ffprobe's packet list (the fixture has B-frames).
 *
 * Video goes out as E-RTMP v1 (ExVideoTagHeader + FourCC 'hvc1'): SequenceStart, CodedFrames (SI24
 * composition time) and, for frames whose composition time is 0, CodedFramesX. Audio is legacy AAC.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRtmpUrl, RtmpClient } from '../../src/servers/rtmp/rtmp-client.js';
import { run } from './tools.js';

export interface MediaMessage {
  type: 8 | 9;
  /** ms, from 0 for the first message of the loop */
  timestamp: number;
  payload: Buffer;
}

export interface HevcSource {
  /** HEVCDecoderConfigurationRecord built from the stream's parameter sets */
  hvcC: Buffer;
  /** AudioSpecificConfig built from the first ADTS header */
  asc: Buffer;
  /** E-RTMP video SequenceStart message body */
  videoHeader: Buffer;
  /** legacy AAC sequence header message body */
  audioHeader: Buffer;
  /** coded frames of one pass over the file, in timestamp (decode) order, audio and video interleaved */
  frames: MediaMessage[];
  /** length of one pass: timestamps of pass k are offset by k * loopMs */
  loopMs: number;
  videoFrames: number;
  audioFrames: number;
}

// ---------------------------------------------------------------------------------------------------------
// HEVC Annex-B

const NAL_VPS = 32;
const NAL_SPS = 33;
const NAL_PPS = 34;
const NAL_AUD = 35;

export const nalType = (nal: Buffer): number => (nal[0] >> 1) & 0x3f;

/** NAL units of an Annex-B byte stream (start codes and trailing zero bytes removed). */
export function splitAnnexB(data: Buffer): Buffer[] {
  const starts: number[] = []; // offsets of the first byte after each 00 00 01
  for (let i = 0; i + 2 < data.length; i++) {
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      starts.push(i + 3);
      i += 2;
    }
  }
  const nals: Buffer[] = [];
  for (let k = 0; k < starts.length; k++) {
    let end = k + 1 < starts.length ? starts[k + 1] - 3 : data.length;
    while (end > starts[k] && data[end - 1] === 0) end--; // zero_byte of a 4-byte start code, trailing_zero_8bits
    if (end > starts[k]) nals.push(data.subarray(starts[k], end));
  }
  return nals;
}

/**
 * Groups NAL units into access units (H.265 §7.4.2.4.4): an AUD, a parameter set, a prefix SEI or a
 * reserved non-VCL type after a picture's VCL NAL units, or a VCL NAL unit with
 * first_slice_segment_in_pic_flag = 1, starts the next access unit.
 */
export function groupAccessUnits(nals: Buffer[]): Buffer[][] {
  const aus: Buffer[][] = [];
  let cur: Buffer[] = [];
  let hasVcl = false;
  for (const nal of nals) {
    const t = nalType(nal);
    const vcl = t < 32;
    const startsAu = vcl
      ? (nal[2] & 0x80) !== 0
      : t === NAL_AUD || t === NAL_VPS || t === NAL_SPS || t === NAL_PPS || t === 39 || (t >= 41 && t <= 44);
    if (startsAu && hasVcl) {
      aus.push(cur);
      cur = [];
      hasVcl = false;
    }
    cur.push(nal);
    if (vcl) hasVcl = true;
  }
  if (cur.length > 0) aus.push(cur);
  return aus;
}

/** RBSP of a NAL unit (emulation_prevention_three_byte removed), NAL header included. */
function rbsp(nal: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < nal.length; i++) {
    if (i >= 2 && nal[i] === 3 && nal[i - 1] === 0 && nal[i - 2] === 0) continue;
    out.push(nal[i]);
  }
  return Buffer.from(out);
}

class Bits {
  private pos = 0;
  constructor(private readonly b: Buffer) {}
  u(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.b[this.pos >> 3];
      if (byte === undefined) throw new Error('SPS: read past the end');
      v = v * 2 + ((byte >> (7 - (this.pos & 7))) & 1);
      this.pos++;
    }
    return v;
  }
  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) zeros++;
    return 2 ** zeros - 1 + this.u(zeros);
  }
  skip(n: number): void {
    this.pos += n;
  }
}

export interface SpsFields {
  maxSubLayersMinus1: number;
  temporalIdNesting: number;
  /** general_profile_space .. general_level_idc: the 12 bytes hvcC copies (bytes 1..12) */
  generalProfile: Buffer;
  chromaFormatIdc: number;
  width: number;
  height: number;
  bitDepthLumaMinus8: number;
  bitDepthChromaMinus8: number;
}

/** The SPS fields an hvcC needs (H.265 §7.3.2.2.1). */
export function parseSps(sps: Buffer): SpsFields {
  const r = rbsp(sps);
  const b = new Bits(r.subarray(2));
  b.skip(4); // sps_video_parameter_set_id
  const maxSubLayersMinus1 = b.u(3);
  const temporalIdNesting = b.u(1);
  const generalProfile = Buffer.from(r.subarray(3, 15));
  b.skip(96);
  const sub: Array<[number, number]> = [];
  for (let i = 0; i < maxSubLayersMinus1; i++) sub.push([b.u(1), b.u(1)]);
  if (maxSubLayersMinus1 > 0) b.skip(2 * (8 - maxSubLayersMinus1));
  for (const [profile, level] of sub) b.skip((profile ? 88 : 0) + (level ? 8 : 0));
  b.ue(); // sps_seq_parameter_set_id
  const chromaFormatIdc = b.ue();
  if (chromaFormatIdc === 3) b.skip(1); // separate_colour_plane_flag
  let width = b.ue();
  let height = b.ue();
  if (b.u(1)) {
    const subW = chromaFormatIdc === 1 || chromaFormatIdc === 2 ? 2 : 1;
    const subH = chromaFormatIdc === 1 ? 2 : 1;
    width -= subW * (b.ue() + b.ue());
    height -= subH * (b.ue() + b.ue());
  }
  const bitDepthLumaMinus8 = b.ue();
  const bitDepthChromaMinus8 = b.ue();
  return {
    maxSubLayersMinus1,
    temporalIdNesting,
    generalProfile,
    chromaFormatIdc,
    width,
    height,
    bitDepthLumaMinus8,
    bitDepthChromaMinus8,
  };
}

/** HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3.1.2), 4-byte NAL unit lengths. */
export function buildHvcC(vps: Buffer, sps: Buffer, pps: Buffer): Buffer {
  const f = parseSps(sps);
  const head = Buffer.alloc(23);
  head[0] = 1; // configurationVersion
  f.generalProfile.copy(head, 1); // profile_space/tier/idc, compatibility flags, constraint flags, level_idc
  head.writeUInt16BE(0xf000, 13); // reserved 1111 + min_spatial_segmentation_idc 0
  head[15] = 0xfc; // reserved + parallelismType 0 (unknown)
  head[16] = 0xfc | f.chromaFormatIdc;
  head[17] = 0xf8 | f.bitDepthLumaMinus8;
  head[18] = 0xf8 | f.bitDepthChromaMinus8;
  head.writeUInt16BE(0, 19); // avgFrameRate unknown
  // constantFrameRate 0, numTemporalLayers, temporalIdNested, lengthSizeMinusOne 3
  head[21] = ((f.maxSubLayersMinus1 + 1) << 3) | (f.temporalIdNesting << 2) | 3;
  head[22] = 3; // numOfArrays
  const arrays = [
    [NAL_VPS, vps],
    [NAL_SPS, sps],
    [NAL_PPS, pps],
  ] as const;
  const parts: Buffer[] = [head];
  for (const [type, nal] of arrays) {
    const h = Buffer.alloc(5);
    h[0] = 0x80 | type; // array_completeness 1
    h.writeUInt16BE(1, 1);
    h.writeUInt16BE(nal.length, 3);
    parts.push(h, nal);
  }
  return Buffer.concat(parts);
}

/** Length-prefixed (4 bytes) sample data of one access unit, parameter sets and AUDs left out. */
export function lengthPrefixed(au: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const nal of au) {
    const t = nalType(nal);
    if (t === NAL_VPS || t === NAL_SPS || t === NAL_PPS || t === NAL_AUD) continue;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(nal.length);
    parts.push(len, nal);
  }
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------------------
// E-RTMP video and legacy AAC message bodies

const HVC1 = Buffer.from('hvc1', 'latin1');

export const ErtmpPacketType = { SequenceStart: 0, CodedFrames: 1, CodedFramesX: 3 } as const;

export function ertmpVideo(frameType: 1 | 2, packetType: number, data: Buffer, cts?: number): Buffer {
  const head = Buffer.from([0x80 | (frameType << 4) | packetType]);
  if (packetType !== ErtmpPacketType.CodedFrames) return Buffer.concat([head, HVC1, data]);
  const si24 = Buffer.alloc(3);
  si24.writeIntBE(cts ?? 0, 0, 3);
  return Buffer.concat([head, HVC1, si24, data]);
}

/** ADTS frames -> raw AAC frames plus the AudioSpecificConfig of the first header (ISO/IEC 14496-3 §1.6.2.1). */
export function parseAdts(data: Buffer): { asc: Buffer; sampleRate: number; frames: Buffer[] } {
  const rates = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
  const frames: Buffer[] = [];
  let asc: Buffer | undefined;
  let sampleRate = 0;
  let off = 0;
  while (off + 7 <= data.length) {
    if (data[off] !== 0xff || (data[off + 1] & 0xf6) !== 0xf0) throw new Error(`ADTS: no sync at ${off}`);
    const protectionAbsent = data[off + 1] & 1;
    const objectType = (data[off + 2] >> 6) + 1;
    const freqIndex = (data[off + 2] >> 2) & 0x0f;
    const channels = ((data[off + 2] & 1) << 2) | (data[off + 3] >> 6);
    const frameLength = ((data[off + 3] & 3) << 11) | (data[off + 4] << 3) | (data[off + 5] >> 5);
    const headerLength = protectionAbsent ? 7 : 9;
    if (frameLength < headerLength || off + frameLength > data.length)
      throw new Error('ADTS: bad frame length');
    if (!asc) {
      asc = Buffer.alloc(2);
      asc.writeUInt16BE((objectType << 11) | (freqIndex << 7) | (channels << 3));
      sampleRate = rates[freqIndex];
    }
    frames.push(data.subarray(off + headerLength, off + frameLength));
    off += frameLength;
  }
  if (!asc) throw new Error('ADTS: no frames');
  return { asc, sampleRate, frames };
}

// ---------------------------------------------------------------------------------------------------------
// Loading

interface ProbePacket {
  stream_index: number;
  pts: number;
  dts: number;
}

interface ProbeStream {
  index: number;
  codec_type: string;
  time_base: string;
}

async function must(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args, 60_000);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

const seconds = (ticks: number, timeBase: string): number => {
  const [num, den] = timeBase.split('/').map(Number);
  return (ticks * num) / den;
};

/** Extracts and repackages an HEVC + AAC MP4 (decode order, timestamps from ffprobe) for publishHevc. */
export async function loadHevcSource(mp4: string, workDir: string): Promise<HevcSource> {
  const hevcFile = join(workDir, 'video.hevc');
  const aacFile = join(workDir, 'audio.aac');
  await must('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-i',
    mp4,
    '-map',
    '0:v:0',
    '-c:v',
    'copy',
    '-bsf:v',
    'hevc_mp4toannexb',
    '-f',
    'hevc',
    hevcFile,
    '-map',
    '0:a:0',
    '-c:a',
    'copy',
    '-f',
    'adts',
    aacFile,
  ]);
  const probe = JSON.parse(
    await must('ffprobe', [
      '-v',
      'error',
      '-show_entries',
      'stream=index,codec_type,time_base:packet=stream_index,pts,dts',
      '-of',
      'json',
      mp4,
    ]),
  ) as { streams: ProbeStream[]; packets: ProbePacket[] };
  const vStream = probe.streams.find((s) => s.codec_type === 'video');
  const aStream = probe.streams.find((s) => s.codec_type === 'audio');
  if (!vStream || !aStream) throw new Error(`${mp4}: needs one video and one audio stream`);
  const vPackets = probe.packets.filter((p) => p.stream_index === vStream.index);
  const aPackets = probe.packets.filter((p) => p.stream_index === aStream.index);

  const aus = groupAccessUnits(splitAnnexB(readFileSync(hevcFile)));
  if (aus.length !== vPackets.length) {
    throw new Error(`found ${aus.length} HEVC access units but ffprobe lists ${vPackets.length} packets`);
  }
  const all = aus.flat();
  const vps = all.find((n) => nalType(n) === NAL_VPS);
  const sps = all.find((n) => nalType(n) === NAL_SPS);
  const pps = all.find((n) => nalType(n) === NAL_PPS);
  if (!vps || !sps || !pps) throw new Error('HEVC stream without VPS/SPS/PPS');
  const hvcC = buildHvcC(vps, sps, pps);

  const adts = parseAdts(readFileSync(aacFile));
  if (adts.frames.length !== aPackets.length) {
    throw new Error(`found ${adts.frames.length} ADTS frames but ffprobe lists ${aPackets.length} packets`);
  }

  // one origin for both tracks (the first video dts is negative: B-frame delay), so A/V sync is kept
  const vt = (ticks: number) => seconds(ticks, vStream.time_base);
  const at = (ticks: number) => seconds(ticks, aStream.time_base);
  const origin = Math.min(vt(vPackets[0].dts), at(aPackets[0].dts));
  const ms = (s: number) => Math.round((s - origin) * 1000);

  const frames: MediaMessage[] = [];
  let end = 0;
  aus.forEach((au, i) => {
    const keyframe = au.some((n) => nalType(n) >= 16 && nalType(n) <= 23); // IRAP
    const dts = ms(vt(vPackets[i].dts));
    const cts = ms(vt(vPackets[i].pts)) - dts;
    const data = lengthPrefixed(au);
    const payload =
      cts === 0
        ? ertmpVideo(keyframe ? 1 : 2, ErtmpPacketType.CodedFramesX, data)
        : ertmpVideo(keyframe ? 1 : 2, ErtmpPacketType.CodedFrames, data, cts);
    frames.push({ type: 9, timestamp: dts, payload });
    end = Math.max(end, dts + 34);
  });
  adts.frames.forEach((raw, i) => {
    const ts = ms(at(aPackets[i].dts));
    frames.push({ type: 8, timestamp: ts, payload: Buffer.concat([Buffer.from([0xaf, 0x01]), raw]) });
    end = Math.max(end, ts + Math.ceil((1024 * 1000) / adts.sampleRate));
  });
  frames.sort((a, b) => a.timestamp - b.timestamp || a.type - b.type); // stable: decode order kept

  return {
    hvcC,
    asc: adts.asc,
    videoHeader: ertmpVideo(1, ErtmpPacketType.SequenceStart, hvcC),
    audioHeader: Buffer.concat([Buffer.from([0xaf, 0x00]), adts.asc]),
    frames,
    loopMs: end,
    videoFrames: aus.length,
    audioFrames: adts.frames.length,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Publishing

export interface HevcPublisher {
  client: RtmpClient;
  /** every coded frame sent, by `${type}:${timestamp}` (unique per track); the sequence headers are not in it */
  sent: Map<string, Buffer>;
  /** resolves when publishing stops (stop(), socket closed, or `loops` passes sent) */
  done: Promise<void>;
  stop: () => void;
}

/**
 * Publishes the source with our RTMP client, paced in real time (or `speed` times faster), looping
 * (`loops` passes, default: until stop()) with timestamps continuing across passes.
 */
export async function publishHevc(
  url: string,
  src: HevcSource,
  opts: { speed?: number; loops?: number } = {},
): Promise<HevcPublisher> {
  const client = new RtmpClient(parseRtmpUrl(url));
  await client.connectApp();
  const status = await client.publish();
  if (status !== 'NetStream.Publish.Start') throw new Error(`publish refused: ${status}`);
  const speed = opts.speed ?? 1;
  const loops = opts.loops ?? Number.POSITIVE_INFINITY;
  const sent = new Map<string, Buffer>();
  let stopped = false;
  const send = (type: 8 | 9, ts: number, payload: Buffer) => {
    client.sendMedia(type, ts, payload);
    sent.set(`${type}:${ts}`, payload);
  };
  const done = (async () => {
    client.sendMedia(9, 0, src.videoHeader);
    client.sendMedia(8, 0, src.audioHeader);
    const t0 = Date.now();
    for (let pass = 0; pass < loops; pass++) {
      const offset = pass * src.loopMs;
      for (const f of src.frames) {
        if (stopped || client.rawSocket.destroyed) return;
        const ts = f.timestamp + offset;
        const wait = t0 + ts / speed - Date.now();
        if (wait > 5) await new Promise((r) => setTimeout(r, wait));
        send(f.type, ts, f.payload);
      }
    }
  })();
  return {
    client,
    sent,
    done,
    stop: () => {
      stopped = true;
      client.close();
    },
  };
}
