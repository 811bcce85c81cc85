import { z } from 'zod';

/**
 * Config fragments for transcoding, wired into src/config/schema.ts: `transcodeSectionSchema` is the top-level
 * `transcode` section (the engine: where ffmpeg is, supervision), `appTranscodeSchema` is each app's
 * `transcode` (its ABR ladder and exec hooks). Docs come from the descriptions (and docs/transcoding.md).
 */

const ms = z.number().int().min(0);
const kbps = z.number().int().min(1).max(1_000_000);

/** `{stream}_{name}` must stay a valid stream name: letters, digits, `-` (no `_`, so the suffix is unambiguous). */
export const RENDITION_NAME = /^[A-Za-z0-9-]{1,32}$/;

export const renditionSchema = z
  .strictObject({
    name: z
      .string()
      .regex(RENDITION_NAME, 'letters, digits and - only (1-32)')
      .describe('Suffix of the rendition: it is published as `{stream}_{name}`.'),
    codec: z
      .enum(['h264', 'hevc', 'copy'])
      .default('h264')
      .describe(
        '`h264` (libx264), `hevc` (libx265; read from ffmpeg as fragmented MP4) or `copy` (the source as is).',
      ),
    width: z
      .number()
      .int()
      .min(16)
      .max(8192)
      .multipleOf(2)
      .optional()
      .describe('Output width; with only `height` the width follows the aspect ratio.'),
    height: z
      .number()
      .int()
      .min(16)
      .max(8192)
      .multipleOf(2)
      .optional()
      .describe('Output height (needed for an encoded rendition unless `width` is given).'),
    videoBitrate: kbps.optional().describe('Target video bitrate, kbit/s (`-b:v`); needed when encoding.'),
    maxBitrate: kbps.optional().describe('VBV peak, kbit/s (`-maxrate`); default 1.5 x videoBitrate.'),
    bufferSize: kbps.optional().describe('VBV buffer, kbit (`-bufsize`); default 2 x maxBitrate.'),
    fps: z.number().min(1).max(240).optional().describe('Output frame rate (default: the source rate).'),
    preset: z
      .enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'])
      .default('veryfast')
      .describe('x264/x265 preset.'),
    profile: z
      .enum(['baseline', 'main', 'high'])
      .optional()
      .describe('H.264 profile (default: x264 chooses, `high` for 8-bit 4:2:0).'),
    audioBitrate: kbps
      .optional()
      .describe('Re-encode audio to AAC at this bitrate, kbit/s; absent: audio is copied from the source.'),
  })
  .superRefine((r, ctx) => {
    if (r.codec === 'copy') return;
    if (r.width === undefined && r.height === undefined)
      ctx.addIssue({ code: 'custom', message: `rendition ${r.name}: give height (or width)` });
    if (r.videoBitrate === undefined)
      ctx.addIssue({ code: 'custom', message: `rendition ${r.name}: videoBitrate is needed to encode` });
  })
  .describe('One rung of the ladder.');

export const execHookSchema = z
  .strictObject({
    command: z.string().min(1).default('ffmpeg').describe('Program to run (`ffmpeg` = the located ffmpeg).'),
    args: z
      .array(z.string())
      .min(1)
      .describe(
        'Arguments; placeholders `{app}`, `{name}`, `{input}`, `{rtmp}` (this server, `rtmp://127.0.0.1:<port>`), ' +
          '`{port}`. No shell is involved.',
      ),
    input: z
      .enum(['pipe', 'rtmp'])
      .default('pipe')
      .describe(
        '`pipe`: `{input}` is `pipe:0` and the stream is written as FLV to stdin; `rtmp`: `{input}` is the ' +
          "stream's RTMP URL on this server.",
      ),
  })
  .describe('A custom command run per stream while it is live (like nginx-rtmp `exec_push`).');

export const appTranscodeSchema = z
  .strictObject({
    startOn: z
      .enum(['publish', 'demand'])
      .default('publish')
      .describe(
        '`publish`: transcode from the start of each stream; `demand`: start on the first viewer of a rendition ' +
          '(or request of the multivariant playlist). Either way it stops when the source ends.',
      ),
    keyframes: z
      .enum(['source', 'gop'])
      .default('source')
      .describe(
        '`source`: encoded renditions cut a keyframe exactly where the source has one (aligned with `copy`); ' +
          '`gop`: a fixed GOP of `gopSeconds` from the source frame rate.',
      ),
    gopSeconds: z.number().min(0.5).max(20).default(2).describe('GOP length for `keyframes: gop`, seconds.'),
    renditions: z
      .array(renditionSchema)
      .max(8)
      .default([])
      .describe('The ABR ladder, one ffmpeg per stream producing all of it; empty = no ladder.'),
    exec: z.array(execHookSchema).max(8).default([]).describe('Custom commands run for each live stream.'),
  })
  .superRefine((t, ctx) => {
    const seen = new Set<string>();
    for (const r of t.renditions) {
      if (seen.has(r.name)) ctx.addIssue({ code: 'custom', message: `duplicate rendition name ${r.name}` });
      seen.add(r.name);
    }
  })
  .describe('Transcoding for this app: an ABR ladder and/or exec hooks.');

export const transcodeSectionSchema = z
  .strictObject({
    ffmpegPath: z
      .string()
      .min(1)
      .optional()
      .describe(
        'ffmpeg binary. Looked up in this order: this, `FFMPEG_PATH`, `ffmpeg` on PATH, the binary of the npm ' +
          'package `@ffmpeg-installer/ffmpeg`.',
      ),
    restartDelayMs: ms
      .default(500)
      .describe('First restart delay after a crash (doubles each time, jittered).'),
    maxRestartDelayMs: ms.default(30_000).describe('Longest restart delay.'),
    stableAfterMs: ms
      .default(20_000)
      .describe('A child that ran this long before crashing restarts with the first delay again.'),
    stopTimeoutMs: ms
      .default(3_000)
      .describe('On stop, SIGTERM (after closing stdin); SIGKILL if still running after this.'),
    stderrLines: z
      .number()
      .int()
      .min(0)
      .default(20)
      .describe('stderr lines logged per child per 10 s; the rest are counted and reported as suppressed.'),
    inputQueueMs: ms
      .default(4_000)
      .describe(
        "Media queued for a child's stdin before it is dropped and the child resumes at the next keyframe.",
      ),
  })
  .prefault({})
  .describe('Transcoding engine (ffmpeg): location, supervision and logs.');

export type RenditionConfig = z.output<typeof renditionSchema>;
export type ExecHookConfig = z.output<typeof execHookSchema>;
export type AppTranscodeConfig = z.output<typeof appTranscodeSchema>;
export type TranscodeSection = z.output<typeof transcodeSectionSchema>;
