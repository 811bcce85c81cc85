import { readFileSync } from 'node:fs';
import { FlvReader, type FlvTag } from '../../src/formats/flv/flv-reader.js';
import { parseRtmpUrl, RtmpClient } from '../../src/servers/rtmp/rtmp-client.js';

export function readFlvTags(file: string): FlvTag[] {
  const r = new FlvReader();
  const tags = r.push(readFileSync(file));
  r.end();
  return tags;
}

export interface FlvPublisher {
  client: RtmpClient;
  /** resolves when the file has been sent (or stop() was called) */
  done: Promise<void>;
  stop: () => void;
  sent: number;
}

/**
 * Our own RTMP client publishing an FLV file: paced in real time (speed 1) or faster, with an optional timestamp
 * offset (to cross 0xFFFFFF or 2^32 on the wire).
 */
export async function publishFlv(
  url: string,
  file: string,
  opts: { speed?: number; tsOffset?: number; metadataAsSetDataFrame?: boolean; loop?: boolean } = {},
): Promise<FlvPublisher> {
  const tags = readFlvTags(file);
  const client = new RtmpClient(parseRtmpUrl(url));
  await client.connectApp();
  const status = await client.publish();
  if (status !== 'NetStream.Publish.Start') throw new Error(`publish refused: ${status}`);
  const speed = opts.speed ?? 1;
  const offset = opts.tsOffset ?? 0;
  let stopped = false;
  const pub: FlvPublisher = { client, done: Promise.resolve(), stop: () => {}, sent: 0 };
  pub.stop = () => {
    stopped = true;
  };
  pub.done = (async () => {
    const t0 = Date.now();
    const first = tags.find((t) => t.type !== 18)?.timestamp ?? 0;
    // with `loop`, the file repeats until stop() and its timestamps keep rising across repeats
    const span = (tags.at(-1)?.timestamp ?? 0) - first + 40;
    for (let round = 0; round === 0 || opts.loop; round++) {
      for (const tag of tags) {
        if (stopped || client.rawSocket.destroyed) return;
        const at = tag.timestamp + round * span;
        const due = (at - first) / speed;
        const wait = t0 + due - Date.now();
        if (wait > 5) await new Promise((r) => setTimeout(r, wait));
        client.sendMedia(tag.type as 8 | 9 | 18, (at + offset) >>> 0, tag.body);
        pub.sent++;
      }
    }
  })();
  return pub;
}
