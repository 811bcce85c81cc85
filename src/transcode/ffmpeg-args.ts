/**
 * Pure: an app's ladder (or exec hook) -> argv. No I/O, no config lookups beyond what is passed in.
 *
 * The ladder is one ffmpeg reading FLV on stdin (`pipe:0`) and writing each rendition as FLV to its own pipe
 * (`pipe:3`, `pipe:4`, ...), or as fragmented MP4 for HEVC (see renditionFormat). Times: `-copyts` keeps the source's timestamps and `-itsoffset` adds INPUT_OFFSET_MS
 * so B-frame or AAC-priming decode times never go negative (the FLV muxer would otherwise shift the whole output by
 * that delay); the reader of each pipe takes the offset off again, so renditions carry the source's times.
 * `-enc_time_base 1:1000` keeps the encoder from rounding times to its frame rate.
 */
import type { AppTranscodeConfig, ExecHookConfig, RenditionConfig } from './schema.js';

/** Added to input times by `-itsoffset`, taken off by the output readers (ms). */
export const INPUT_OFFSET_MS = 10_000;
/** The first rendition's pipe: fds 0-2 are stdin (input), stdout (progress), stderr (log). */
export const FIRST_OUTPUT_FD = 3;

/** What ffmpeg writes to a rendition's pipe. */
export type RenditionFormat = 'flv' | 'fmp4';

/**
 * HEVC rungs go out as fragmented MP4: HEVC in FLV (Enhanced RTMP muxing) needs ffmpeg >= 6.1, while fMP4 works
 * with any ffmpeg that has libx265. Everything else stays FLV.
 */
export function renditionFormat(r: RenditionConfig): RenditionFormat {
  return r.codec === 'hevc' ? 'fmp4' : 'flv';
}

/**
 * Fragmented MP4 on a pipe, on the copied timeline:
 * - `empty_moov` + `frag_keyframe` + `-frag_duration`: the moov first, then a fragment at every keyframe and at
 *   least every 100 ms, so frames come out promptly;
 * - `frag_discont` + `-use_editlist 0` + `-avoid_negative_ts make_non_negative`: the first tfdt is the first
 *   packet's decode time, not 0 (the mp4 muxer otherwise shifts the output to start at 0);
 * - `default_base_moof`: sample data offsets count from the moof;
 * - `hvc1`: parameter sets in the hvcC record, as Enhanced RTMP's SequenceStart carries them;
 * - video frame timing `vfr` (the mp4 muxer defaults to constant frame rate, which with the 1 ms encoder time base
 *   would duplicate frames; FLV outputs are `vfr` already).
 */
export const FMP4_FRAGMENT_US = 100_000;

function fmp4OutputArgs(fd: number, fpsMode: LadderArgsOptions['fpsMode']): string[] {
  return [
    '-tag:v',
    'hvc1',
    ...(fpsMode === 'vsync' ? ['-vsync', 'vfr'] : ['-fps_mode:v', 'vfr']),
    '-movflags',
    'frag_keyframe+empty_moov+default_base_moof+frag_discont',
    '-use_editlist',
    '0',
    '-avoid_negative_ts',
    'make_non_negative',
    '-frag_duration',
    String(FMP4_FRAGMENT_US),
    '-flush_packets',
    '1',
    '-f',
    'mp4',
    `pipe:${fd}`,
  ];
}

export interface LadderArgsOptions {
  renditions: readonly RenditionConfig[];
  keyframes: AppTranscodeConfig['keyframes'];
  gopSeconds: number;
  /** the source's frame rate (from its SPS or measured), for GOP lengths */
  sourceFps: number;
  /** how to ask for variable frame rate on fMP4 outputs: `-fps_mode` (ffmpeg >= 5.1, default) or `-vsync` */
  fpsMode?: 'fps_mode' | 'vsync';
}

/** Default maxrate 1.5 x bitrate, bufsize 2 x maxrate (kbit/s). */
export function vbv(r: RenditionConfig): { bitrate: number; maxrate: number; bufsize: number } | undefined {
  if (r.videoBitrate === undefined) return undefined;
  const maxrate = r.maxBitrate ?? Math.round(r.videoBitrate * 1.5);
  return { bitrate: r.videoBitrate, maxrate, bufsize: r.bufferSize ?? maxrate * 2 };
}

function scaleFilter(r: RenditionConfig): string {
  // -2: the other side follows the aspect ratio, rounded to an even number (4:2:0 needs even sizes)
  const w = r.width ?? -2;
  const h = r.height ?? -2;
  const parts = [`scale=${w}:${h}`];
  if (r.fps !== undefined) parts.push(`fps=${r.fps}`);
  return parts.join(',');
}

/**
 * Keyframe placement. x265 also gets `open-gop=0`: its keyframes are then IDR pictures, not CRA pictures whose
 * leading pictures reference the previous GOP, so every segment decodes on its own (HLS INDEPENDENT-SEGMENTS).
 */
function keyframeArgs(r: RenditionConfig, o: LadderArgsOptions): string[] {
  const fps = r.fps ?? o.sourceFps;
  const hevc = r.codec === 'hevc';
  if (o.keyframes === 'source') {
    // a keyframe wherever the decoded source frame was one; the encoder's own interval is only a cap (10 s)
    const cap = Math.max(1, Math.round(fps * 10));
    return hevc
      ? ['-force_key_frames', 'source', '-x265-params', `keyint=${cap}:scenecut=0:open-gop=0:log-level=error`]
      : ['-force_key_frames', 'source', '-g', String(cap), '-sc_threshold', '0'];
  }
  const n = Math.max(1, Math.round(fps * o.gopSeconds));
  // forced at each gopSeconds boundary of the (copied) timeline, so every rung and every restart agrees
  const s = o.gopSeconds;
  const expr = `expr:if(isnan(prev_forced_t),1,gte(trunc(t/${s}),trunc(prev_forced_t/${s})+1))`;
  return hevc
    ? [
        '-force_key_frames',
        expr,
        '-x265-params',
        `keyint=${n * 2}:min-keyint=${n}:scenecut=0:open-gop=0:log-level=error`,
      ]
    : ['-force_key_frames', expr, '-g', String(n * 2), '-keyint_min', String(n), '-sc_threshold', '0'];
}

function renditionArgs(r: RenditionConfig, fd: number, o: LadderArgsOptions): string[] {
  const out = ['-map', '0:v:0?', '-map', '0:a:0?'];
  if (r.codec === 'copy') {
    out.push('-c', 'copy');
  } else {
    const v = vbv(r);
    out.push('-c:v', r.codec === 'hevc' ? 'libx265' : 'libx264', '-preset', r.preset);
    if (r.profile && r.codec === 'h264') out.push('-profile:v', r.profile);
    out.push('-pix_fmt', 'yuv420p', '-vf', scaleFilter(r), '-enc_time_base:v', '1:1000');
    if (v) out.push('-b:v', `${v.bitrate}k`, '-maxrate', `${v.maxrate}k`, '-bufsize', `${v.bufsize}k`);
    out.push(...keyframeArgs(r, o));
    if (r.audioBitrate !== undefined) out.push('-c:a', 'aac', '-b:a', `${r.audioBitrate}k`);
    else out.push('-c:a', 'copy');
  }
  if (renditionFormat(r) === 'fmp4') out.push(...fmp4OutputArgs(fd, o.fpsMode));
  else out.push('-flush_packets', '1', '-flvflags', 'no_duration_filesize', '-f', 'flv', `pipe:${fd}`);
  return out;
}

/** One ffmpeg for the whole ladder: FLV on stdin, rendition i (FLV or fMP4) on fd FIRST_OUTPUT_FD + i. */
export function ladderArgs(o: LadderArgsOptions): string[] {
  const args = [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'warning',
    '-nostats',
    '-progress',
    'pipe:1',
    '-copyts',
    '-itsoffset',
    String(INPUT_OFFSET_MS / 1000),
    '-f',
    'flv',
    '-i',
    'pipe:0',
  ];
  o.renditions.forEach((r, i) => {
    args.push(...renditionArgs(r, FIRST_OUTPUT_FD + i, o));
  });
  return args;
}

export interface ExecPlaceholders {
  app: string;
  name: string;
  /** `rtmp://127.0.0.1:<port>` */
  rtmp: string;
  port: number;
}

/** `{app}` `{name}` `{input}` `{rtmp}` `{port}` in every argument (no shell: each stays one argument). */
export function execArgs(hook: ExecHookConfig, p: ExecPlaceholders): string[] {
  const input = hook.input === 'pipe' ? 'pipe:0' : `${p.rtmp}/${p.app}/${p.name}`;
  const values: Record<string, string> = {
    app: p.app,
    name: p.name,
    input,
    rtmp: p.rtmp,
    port: String(p.port),
  };
  return hook.args.map((a) => a.replace(/\{(app|name|input|rtmp|port)\}/g, (_m, k: string) => values[k]));
}

/** The `app/name` paths on this server an exec hook publishes to (so they are not transcoded again). */
export function execOutputPaths(args: readonly string[], rtmp: string): string[] {
  const out: string[] = [];
  const prefix = `${rtmp}/`;
  for (const a of args) {
    if (!a.startsWith(prefix)) continue;
    const [app, name] = a.slice(prefix.length).split('?')[0].split('/');
    if (app && name) out.push(`${app}/${name}`);
  }
  return out;
}

/** `rtmp://<host>:<port>` for children to reach this server (a wildcard bind is reached on loopback). */
export function rtmpBase(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
  return `rtmp://${h.includes(':') ? `[${h}]` : h}:${port}`;
}
