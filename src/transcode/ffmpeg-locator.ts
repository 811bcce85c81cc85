import { execFile } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';

export type FfmpegSource = 'config' | 'env' | 'path' | 'package';

export interface FfmpegLocation {
  path: string;
  source: FfmpegSource;
  /** candidates passed over before this one, and why (for the start-up log) */
  skipped: Array<{ source: FfmpegSource; path: string; reason: string }>;
}

export interface LocateOptions {
  /** `transcode.ffmpegPath` */
  configPath?: string;
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  /** the npm package's binary (tests replace it); default: `@ffmpeg-installer/ffmpeg`'s `path` */
  packagePath?: () => string | undefined;
}

function executable(path: string): string | undefined {
  try {
    if (!statSync(path).isFile()) return 'not a file';
    accessSync(path, constants.X_OK);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'not executable';
  }
}

/** The binary shipped by `@ffmpeg-installer/ffmpeg` (a platform package), when it is installed. */
export function packagedFfmpeg(): string | undefined {
  try {
    const req = createRequire(import.meta.url);
    const mod = req('@ffmpeg-installer/ffmpeg') as { path?: string };
    return typeof mod.path === 'string' ? mod.path : undefined;
  } catch {
    return undefined; // not installed, or no binary for this platform
  }
}

/**
 * Finds ffmpeg, in order: the configured path, `FFMPEG_PATH`, `ffmpeg` on PATH, the npm package's binary. The
 * first executable file wins; candidates that are set but unusable are reported in `skipped`.
 */
export function locateFfmpeg(opts: LocateOptions = {}): FfmpegLocation | undefined {
  const env = opts.env ?? process.env;
  const platform = opts.platform ?? process.platform;
  const skipped: FfmpegLocation['skipped'] = [];
  const tryOne = (source: FfmpegSource, path: string | undefined): FfmpegLocation | undefined => {
    if (!path) return undefined;
    const why = executable(path);
    if (why === undefined) return { path, source, skipped };
    skipped.push({ source, path, reason: why });
    return undefined;
  };
  const found = tryOne('config', opts.configPath) ?? tryOne('env', env.FFMPEG_PATH);
  if (found) return found;
  const names = platform === 'win32' ? ['ffmpeg.exe', 'ffmpeg'] : ['ffmpeg'];
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    for (const n of names) {
      const p = join(dir, n);
      if (executable(p) === undefined) return { path: p, source: 'path', skipped };
    }
  }
  return tryOne('package', (opts.packagePath ?? packagedFfmpeg)());
}

export interface FfmpegVersion {
  /** `5.1.9-0+deb12u1`, `N-47683-g0e8eb07980-static`, ... */
  version: string;
  /** libavformat [major, minor] */
  avformat: [number, number];
}

/** Parses `ffmpeg -version`. */
export function parseFfmpegVersion(text: string): FfmpegVersion | undefined {
  const v = /ffmpeg version (\S+)/.exec(text);
  const f = /libavformat\s+(\d+)\.\s*(\d+)\./.exec(text);
  if (!v || !f) return undefined;
  return { version: v[1], avformat: [Number(f[1]), Number(f[2])] };
}

/** Runs `ffmpeg -version` (once per service start). */
export function probeFfmpegVersion(path: string, timeoutMs = 10_000): Promise<FfmpegVersion | undefined> {
  return new Promise((resolve) => {
    execFile(path, ['-hide_banner', '-version'], { timeout: timeoutMs }, (err, stdout) => {
      resolve(err ? undefined : parseFfmpegVersion(String(stdout)));
    });
  });
}

/** HEVC in FLV (Enhanced RTMP) is muxed by ffmpeg 6.1 (libavformat 60.16) and later. */
export function muxesHevcInFlv(v: FfmpegVersion | undefined): boolean {
  if (!v) return false;
  const [maj, min] = v.avformat;
  return maj > 60 || (maj === 60 && min >= 16);
}

/** `-fps_mode` arrived in ffmpeg 5.1 (libavformat 59.27); older versions take `-vsync`. */
export function hasFpsMode(v: FfmpegVersion | undefined): boolean {
  if (!v) return true;
  const [maj, min] = v.avformat;
  return maj > 59 || (maj === 59 && min >= 27);
}

/** Parses `ffmpeg -encoders`: the encoder names (`libx264`, `libx265`, `aac`, ...). */
export function parseEncoders(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^\s*[VAS][F.][S.][X.][B.][D.]\s+(\S+)/.exec(line);
    if (m && m[1] !== '=') out.add(m[1]);
  }
  return out;
}

/** Runs `ffmpeg -encoders` (once per service start); undefined when it fails. */
export function probeEncoders(path: string, timeoutMs = 10_000): Promise<Set<string> | undefined> {
  return new Promise((resolve) => {
    execFile(path, ['-hide_banner', '-encoders'], { timeout: timeoutMs }, (err, stdout) => {
      resolve(err ? undefined : parseEncoders(String(stdout)));
    });
  });
}
