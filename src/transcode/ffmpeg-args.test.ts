import { describe, expect, it } from 'vitest';
import {
  execArgs,
  execOutputPaths,
  INPUT_OFFSET_MS,
  ladderArgs,
  renditionFormat,
  rtmpBase,
  vbv,
} from './ffmpeg-args.js';
import { type RenditionConfig, renditionSchema } from './schema.js';

const rung = (r: Record<string, unknown>): RenditionConfig => renditionSchema.parse(r);

/** The arguments of output `fd` (everything after the previous `pipe:N`, up to and including its own). */
function outputArgs(args: string[], fd: number): string[] {
  const end = args.indexOf(`pipe:${fd}`);
  let start = end - 1;
  while (start >= 0 && !/^pipe:\d$/.test(args[start])) start--;
  return args.slice(start + 1, end + 1);
}

describe('ladderArgs', () => {
  const ladder = [
    rung({ name: '720p', codec: 'copy' }),
    rung({ name: '480p', height: 480, videoBitrate: 1000, audioBitrate: 96, preset: 'ultrafast' }),
    rung({
      name: '360p',
      width: 640,
      height: 360,
      videoBitrate: 500,
      fps: 15,
      codec: 'h264',
      profile: 'main',
    }),
  ];
  const args = ladderArgs({ renditions: ladder, keyframes: 'source', gopSeconds: 2, sourceFps: 30 });

  it('reads FLV from stdin with the source timestamps, shifted by the input offset', () => {
    const i = args.indexOf('-i');
    expect(args[i + 1]).toBe('pipe:0');
    expect(args.slice(0, i)).toEqual(
      expect.arrayContaining([
        '-copyts',
        '-itsoffset',
        String(INPUT_OFFSET_MS / 1000),
        '-f',
        'flv',
        '-progress',
        'pipe:1',
        '-nostdin',
      ]),
    );
  });

  it('writes rendition i as FLV on fd 3 + i', () => {
    for (const fd of [3, 4, 5]) expect(outputArgs(args, fd).slice(-3)).toEqual(['-f', 'flv', `pipe:${fd}`]);
    expect(args.filter((a) => a.startsWith('pipe:')).length).toBe(5);
  });

  it('copy keeps the source', () => {
    const a = outputArgs(args, 3);
    expect(a).toContain('copy');
    expect(a).not.toContain('-vf');
  });

  it('encoded rungs: scale, VBV, keyframes where the source has them, 1 ms time base', () => {
    const a = outputArgs(args, 4);
    expect(a.join(' ')).toContain('-c:v libx264 -preset ultrafast');
    expect(a[a.indexOf('-vf') + 1]).toBe('scale=-2:480');
    expect(a.join(' ')).toContain('-b:v 1000k -maxrate 1500k -bufsize 3000k');
    expect(a.join(' ')).toContain('-force_key_frames source -g 300 -sc_threshold 0');
    expect(a.join(' ')).toContain('-enc_time_base:v 1:1000');
    expect(a.join(' ')).toContain('-c:a aac -b:a 96k');
    const b = outputArgs(args, 5);
    expect(b[b.indexOf('-vf') + 1]).toBe('scale=640:360,fps=15');
    expect(b.join(' ')).toContain('-profile:v main');
    expect(b.join(' ')).toContain('-c:a copy');
  });

  it('gop mode: a fixed GOP from the frame rate, forced on gopSeconds boundaries of the source timeline', () => {
    const g = ladderArgs({ renditions: [ladder[1]], keyframes: 'gop', gopSeconds: 2, sourceFps: 25 });
    const a = outputArgs(g, 3).join(' ');
    expect(a).toContain('-g 100 -keyint_min 50 -sc_threshold 0');
    expect(a).toContain(
      '-force_key_frames expr:if(isnan(prev_forced_t),1,gte(trunc(t/2),trunc(prev_forced_t/2)+1))',
    );
  });

  it('hevc uses libx265 with scenecut off', () => {
    const h = ladderArgs({
      renditions: [rung({ name: 'h', codec: 'hevc', height: 720, videoBitrate: 2000 })],
      keyframes: 'source',
      gopSeconds: 2,
      sourceFps: 30,
    }).join(' ');
    expect(h).toContain('-c:v libx265');
    expect(h).toContain('-x265-params keyint=300:scenecut=0');
  });

  it('hevc goes out as fragmented MP4 on the copied timeline; h264 and copy stay FLV', () => {
    const hevc = rung({ name: 'h', codec: 'hevc', height: 360, videoBitrate: 600, preset: 'ultrafast' });
    expect(renditionFormat(hevc)).toBe('fmp4');
    expect(renditionFormat(ladder[0])).toBe('flv');
    expect(renditionFormat(ladder[1])).toBe('flv');
    const g = ladderArgs({
      renditions: [ladder[0], hevc],
      keyframes: 'source',
      gopSeconds: 2,
      sourceFps: 25,
    });
    expect(outputArgs(g, 3).slice(-3)).toEqual(['-f', 'flv', 'pipe:3']);
    const a = outputArgs(g, 4);
    expect(a.slice(-3)).toEqual(['-f', 'mp4', 'pipe:4']);
    const j = a.join(' ');
    expect(j).toContain('-tag:v hvc1 -fps_mode:v vfr');
    expect(j).toContain('-movflags frag_keyframe+empty_moov+default_base_moof+frag_discont');
    expect(j).toContain('-use_editlist 0 -avoid_negative_ts make_non_negative -frag_duration 100000');
    expect(j).not.toContain('flvflags');
    // an ffmpeg older than 5.1 has no -fps_mode
    const old = ladderArgs({
      renditions: [hevc],
      keyframes: 'source',
      gopSeconds: 2,
      sourceFps: 25,
      fpsMode: 'vsync',
    });
    expect(outputArgs(old, 3).join(' ')).toContain('-vsync vfr');
  });

  it('vbv defaults: maxrate 1.5x, bufsize 2x maxrate; explicit values win', () => {
    expect(vbv(rung({ name: 'a', height: 360, videoBitrate: 400 }))).toEqual({
      bitrate: 400,
      maxrate: 600,
      bufsize: 1200,
    });
    expect(
      vbv(rung({ name: 'a', height: 360, videoBitrate: 400, maxBitrate: 440, bufferSize: 800 })),
    ).toEqual({
      bitrate: 400,
      maxrate: 440,
      bufsize: 800,
    });
  });

  it('the schema refuses an encoded rung without size or bitrate, and names that would break {stream}_{name}', () => {
    expect(() => rung({ name: 'x', videoBitrate: 100 })).toThrow(/height/);
    expect(() => rung({ name: 'x', height: 360 })).toThrow(/videoBitrate/);
    expect(() => rung({ name: 'a_b', codec: 'copy' })).toThrow();
    expect(() => rung({ name: '../x', codec: 'copy' })).toThrow();
    expect(() => rung({ name: 'x', height: 361, videoBitrate: 100 })).toThrow();
  });
});

describe('exec hooks', () => {
  const p = { app: 'live', name: 'cam', rtmp: 'rtmp://127.0.0.1:1935', port: 1935 };

  it('fills {app} {name} {input} {rtmp} {port} in each argument, never splitting one', () => {
    const args = execArgs(
      {
        command: 'ffmpeg',
        input: 'pipe',
        args: [
          '-i',
          '{input}',
          '-metadata',
          'title={app} {name}',
          '-f',
          'flv',
          '{rtmp}/{app}/{name}_hd',
          '{port}',
          '{other}',
        ],
      },
      p,
    );
    expect(args).toEqual([
      '-i',
      'pipe:0',
      '-metadata',
      'title=live cam',
      '-f',
      'flv',
      'rtmp://127.0.0.1:1935/live/cam_hd',
      '1935',
      '{other}',
    ]);
  });

  it('input rtmp: {input} is the stream on this server', () => {
    expect(execArgs({ command: 'x', input: 'rtmp', args: ['{input}'] }, p)).toEqual([
      'rtmp://127.0.0.1:1935/live/cam',
    ]);
  });

  it('finds the paths a hook publishes back to this server', () => {
    expect(
      execOutputPaths(
        [
          '-i',
          'pipe:0',
          'rtmp://127.0.0.1:1935/live/cam_hd',
          'rtmp://other:1935/x/y',
          'rtmp://127.0.0.1:1935/out/k?key=1',
        ],
        p.rtmp,
      ),
    ).toEqual(['live/cam_hd', 'out/k']);
  });

  it('rtmpBase: wildcard binds are reached on loopback; IPv6 hosts are bracketed', () => {
    expect(rtmpBase('0.0.0.0', 1935)).toBe('rtmp://127.0.0.1:1935');
    expect(rtmpBase('::', 1)).toBe('rtmp://127.0.0.1:1');
    expect(rtmpBase('10.0.0.2', 1935)).toBe('rtmp://10.0.0.2:1935');
    expect(rtmpBase('::1', 1935)).toBe('rtmp://[::1]:1935');
  });
});
