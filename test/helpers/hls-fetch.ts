import type { TestServer } from './server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function text(url: string): Promise<{ status: number; body: string }> {
  const r = await fetch(url);
  return { status: r.status, body: await r.text() };
}

/** The URIs of a media playlist once it lists at least n segments. */
export async function segments(
  t: TestServer,
  path: string,
  n: number,
  timeoutMs = 30_000,
): Promise<string[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await text(t.httpUrl(path)).catch(() => ({ status: 0, body: '' }));
    const uris = r.body.split('\n').filter((l) => l && !l.startsWith('#'));
    if (r.status === 200 && uris.length >= n) return uris;
    if (Date.now() > end) throw new Error(`${path}: fewer than ${n} segments in ${timeoutMs} ms:\n${r.body}`);
    await sleep(250);
  }
}
