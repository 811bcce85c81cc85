import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  hasFpsMode,
  locateFfmpeg,
  muxesHevcInFlv,
  packagedFfmpeg,
  parseEncoders,
  parseFfmpegVersion,
} from './ffmpeg-locator.js';

let dir: string;
let cfgBin: string;
let envBin: string;
let pathDir: string;
let pkgBin: string;
let notExec: string;

function fakeBinary(path: string, exec = true): string {
  writeFileSync(path, '#!/bin/sh\necho fake\n');
  chmodSync(path, exec ? 0o755 : 0o644);
  return path;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tidecast-locate-'));
  cfgBin = fakeBinary(join(dir, 'cfg-ffmpeg'));
  envBin = fakeBinary(join(dir, 'env-ffmpeg'));
  pathDir = join(dir, 'bin');
  mkdirSync(pathDir);
  fakeBinary(join(pathDir, 'ffmpeg'));
  pkgBin = fakeBinary(join(dir, 'pkg-ffmpeg'));
  notExec = fakeBinary(join(dir, 'not-exec'), false);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const emptyDir = () => join(dir, 'nothing-here');

describe('locateFfmpeg: config, FFMPEG_PATH, PATH, npm package', () => {
  it('1. the configured path wins', () => {
    const r = locateFfmpeg({
      configPath: cfgBin,
      env: { FFMPEG_PATH: envBin, PATH: pathDir },
      packagePath: () => pkgBin,
    });
    expect(r).toMatchObject({ path: cfgBin, source: 'config' });
  });

  it('2. then FFMPEG_PATH', () => {
    const r = locateFfmpeg({ env: { FFMPEG_PATH: envBin, PATH: pathDir }, packagePath: () => pkgBin });
    expect(r).toMatchObject({ path: envBin, source: 'env' });
  });

  it('3. then ffmpeg on PATH (first directory that has it)', () => {
    const r = locateFfmpeg({
      env: { PATH: [emptyDir(), pathDir].join(delimiter) },
      packagePath: () => pkgBin,
    });
    expect(r).toMatchObject({ path: join(pathDir, 'ffmpeg'), source: 'path' });
  });

  it('4. then the npm package binary', () => {
    const r = locateFfmpeg({ env: { PATH: emptyDir() }, packagePath: () => pkgBin });
    expect(r).toMatchObject({ path: pkgBin, source: 'package' });
  });

  it('nothing anywhere: undefined', () => {
    expect(locateFfmpeg({ env: { PATH: emptyDir() }, packagePath: () => undefined })).toBeUndefined();
  });

  it('a configured or FFMPEG_PATH binary that is missing or not executable is skipped, with the reason', () => {
    const r = locateFfmpeg({
      configPath: join(dir, 'missing'),
      env: { FFMPEG_PATH: notExec, PATH: pathDir },
      packagePath: () => pkgBin,
    });
    expect(r?.source).toBe('path');
    expect(r?.skipped).toEqual([
      { source: 'config', path: join(dir, 'missing'), reason: 'ENOENT' },
      { source: 'env', path: notExec, reason: 'EACCES' },
    ]);
  });

  it('a directory is not a binary', () => {
    const r = locateFfmpeg({ configPath: dir, env: { PATH: emptyDir() }, packagePath: () => pkgBin });
    expect(r?.source).toBe('package');
    expect(r?.skipped[0]).toMatchObject({ source: 'config', reason: 'not a file' });
  });

  it('the real @ffmpeg-installer/ffmpeg package resolves to an executable (npm ci installs it)', () => {
    const p = packagedFfmpeg();
    expect(p).toBeTruthy();
    const r = locateFfmpeg({ env: { PATH: emptyDir() } });
    expect(r).toMatchObject({ path: p, source: 'package' });
  });
});

describe('ffmpeg -version', () => {
  it('parses release and git builds', () => {
    const deb = parseFfmpegVersion(
      'ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026\nlibavutil      57. 28.100 / 57. 28.100\nlibavformat    59. 27.100 / 59. 27.100\n',
    );
    expect(deb).toEqual({ version: '5.1.9-0+deb12u1', avformat: [59, 27] });
    expect(muxesHevcInFlv(deb)).toBe(false);
    const git = parseFfmpegVersion(
      'ffmpeg version N-47683-g0e8eb07980-static x\nlibavformat    58. 25.100 / 58. 25.100',
    );
    expect(git?.avformat).toEqual([58, 25]);
    expect(muxesHevcInFlv(parseFfmpegVersion('ffmpeg version 6.1\nlibavformat    60. 16.100 /'))).toBe(true);
    expect(muxesHevcInFlv(parseFfmpegVersion('ffmpeg version 7.1\nlibavformat    61.  7.100 /'))).toBe(true);
    expect(parseFfmpegVersion('garbage')).toBeUndefined();
  });
});

describe('ffmpeg capabilities', () => {
  it('-fps_mode from ffmpeg 5.1 (libavformat 59.27)', () => {
    expect(
      hasFpsMode(parseFfmpegVersion('ffmpeg version 5.1.9-0+deb12u1\nlibavformat    59. 27.100 /')),
    ).toBe(true);
    expect(hasFpsMode(parseFfmpegVersion('ffmpeg version 4.1\nlibavformat    58. 20.100 /'))).toBe(false);
    expect(hasFpsMode(undefined)).toBe(true);
  });

  it('parses the encoder list of ffmpeg -encoders', () => {
    const text = [
      'Encoders:',
      ' V..... = Video',
      ' A..... = Audio',
      ' ------',
      ' V....D libx264              libx264 H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10 (codec h264)',
      ' V....D libx265              libx265 H.265 / HEVC (codec hevc)',
      ' A....D aac                  AAC (Advanced Audio Coding)',
    ].join('\n');
    expect([...parseEncoders(text)]).toEqual(['libx264', 'libx265', 'aac']);
  });
});
