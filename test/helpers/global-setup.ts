import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** Makes the deterministic test media once (git-ignored `test-media/`), when ffmpeg is present. */
export default function setup(): void {
  const out = resolve('test-media');
  const script = resolve('../shared/tools/make-test-media.sh');
  if (!hasTool('ffmpeg')) {
    console.warn(
      '\n[tidecast tests] ffmpeg is NOT installed: interop tests will be SKIPPED (run .ci/run to install it)\n',
    );
    return;
  }
  if (existsSync(`${out}/h264-aac-720p.mp4`)) return;
  execFileSync('bash', [script, out], { stdio: 'inherit' });
}

function hasTool(name: string): boolean {
  try {
    execFileSync('which', [name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
