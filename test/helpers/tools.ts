import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { resolve } from 'node:path';

const cache = new Map<string, boolean>();

/** True when a third-party tool is on PATH; when it is not, says so loudly (the tests that need it skip). */
export function hasTool(name: string): boolean {
  let ok = cache.get(name);
  if (ok === undefined) {
    try {
      execFileSync('which', [name], { stdio: 'ignore' });
      ok = true;
    } catch {
      ok = false;
      console.warn(
        `\n*** ${name} is NOT installed: tests that need it are SKIPPED. Run .ci/run (it installs ${name}). ***\n`,
      );
    }
    cache.set(name, ok);
  }
  return ok;
}

export const media = (file: string): string => resolve('test-media', file);

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (killed with SIGINT, then SIGKILL, after timeoutMs). */
export function run(cmd: string, args: string[], timeoutMs = 30_000): Promise<RunResult> {
  return new Promise((resolveRun) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const t = setTimeout(() => {
      child.kill('SIGINT');
      setTimeout(() => child.kill('SIGKILL'), 2000).unref();
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(t);
      resolveRun({ code, signal, stdout, stderr });
    });
  });
}

/** ffmpeg publishing a file in real time (looped) to an RTMP URL; kill() to stop. */
export function ffmpegPublish(
  url: string,
  file = media('h264-aac-360p.flv'),
  extra: string[] = [],
): ChildProcess {
  const child = spawn(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-re',
      '-stream_loop',
      '-1',
      '-i',
      file,
      '-c',
      'copy',
      ...extra,
      '-f',
      'flv',
      url,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr?.on('data', () => {});
  return child;
}

export function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  return new Promise((r) => {
    if (child.exitCode !== null || child.signalCode !== null) return r();
    child.once('close', () => r());
    child.kill(signal);
  });
}
