import { connect, type Socket } from 'node:net';
import { decodeAmf0 } from '../../src/formats/amf/amf0.js';
import type { AmfValue } from '../../src/formats/amf/types.js';
import { ChunkDecoder } from '../../src/protocols/rtmp/chunk-decoder.js';
import { encodeMessage } from '../../src/protocols/rtmp/chunk-encoder.js';
import { command } from '../../src/protocols/rtmp/commands.js';
import { ClientHandshake } from '../../src/protocols/rtmp/handshake.js';
import { MessageType, type RtmpMessage } from '../../src/protocols/rtmp/message.js';

/** Resolves when `p` does, rejects with `what` after `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<never>((_, rej) => {
      t = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

/** Polls `cond` every 20 ms until it is true; throws after `ms`. */
export async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One decoded command from the server: name, transaction id, and everything after them. */
export interface RawCommand {
  name: string;
  txn: number;
  values: AmfValue[];
  streamId: number;
}

/**
 * A deliberately dumb RTMP peer over a raw TCP socket, for feeding a server bad input: every byte it sends
 * is chosen by the test. It can do a valid (simple) handshake and decode what the server sends back.
 */
export class RawRtmp {
  readonly socket: Socket;
  readonly closed: Promise<void>;
  isClosed = false;
  /** bytes received in total (handshake included) */
  received = 0;
  /** commands (type 20) decoded from the server after the handshake */
  readonly commands: RawCommand[] = [];
  readonly messages: RtmpMessage[] = [];
  private hs: ClientHandshake | undefined;
  private hsDone: (() => void) | undefined;
  private readonly decoder = new ChunkDecoder();
  private decodeError: unknown;

  private constructor(port: number) {
    this.socket = connect({ host: '127.0.0.1', port, noDelay: true });
    this.socket.on('error', () => {});
    this.closed = new Promise((r) =>
      this.socket.once('close', () => {
        this.isClosed = true;
        r();
      }),
    );
    this.socket.on('data', (b: Buffer) => this.onData(b));
  }

  static async open(port: number, timeoutMs = 3000): Promise<RawRtmp> {
    const c = new RawRtmp(port);
    await within(
      new Promise<void>((res, rej) => {
        c.socket.once('connect', () => res());
        c.socket.once('error', rej);
      }),
      timeoutMs,
      'tcp connect',
    );
    return c;
  }

  private onData(b: Buffer): void {
    this.received += b.length;
    let data = b;
    if (this.hs) {
      const step = this.hs.push(data);
      for (const o of step.out) this.socket.write(o);
      if (!step.done) return;
      this.hs = undefined;
      this.hsDone?.();
      data = step.rest ?? Buffer.alloc(0);
    }
    if (this.hsDone === undefined || data.length === 0 || this.decodeError) return;
    try {
      for (const m of this.decoder.push(data)) {
        this.messages.push(m);
        if (m.type === MessageType.CommandAmf0) {
          const v = decodeAmf0(m.payload);
          this.commands.push({
            name: String(v[0]),
            txn: typeof v[1] === 'number' ? v[1] : 0,
            values: v.slice(2),
            streamId: m.streamId,
          });
        }
      }
    } catch (err) {
      this.decodeError = err;
    }
  }

  /** A valid simple handshake (C0+C1, then C2 once S1 is in); resolves once S2 is in. */
  async handshake(timeoutMs = 3000): Promise<void> {
    this.hs = new ClientHandshake({ digest: false });
    const done = new Promise<void>((r) => {
      this.hsDone = r;
    });
    this.socket.write(this.hs.start());
    await within(done, timeoutMs, 'handshake');
  }

  write(b: Buffer | Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(b);
  }

  /** One message as a single fmt-0 chunk sequence at `chunkSize` (the server reads at 128 until told otherwise). */
  send(msg: RtmpMessage, chunkSize = 128): void {
    this.write(encodeMessage(msg, chunkSize));
  }

  /** An AMF0 command (type 20) on csid 3. */
  sendCommand(values: AmfValue[], streamId = 0): void {
    this.send(command(values, streamId));
  }

  /** connect to `app` with txn 1; resolves with the reply (`_result` or `_error`). */
  async connectApp(app: string, timeoutMs = 3000): Promise<RawCommand> {
    this.sendCommand(['connect', 1, { app, tcUrl: `rtmp://127.0.0.1/${app}`, flashVer: 'LNX 9,0,124,2' }]);
    return this.waitCommand((c) => (c.name === '_result' || c.name === '_error') && c.txn === 1, timeoutMs);
  }

  /** Resolves with the first received command (already received ones included) that matches. */
  async waitCommand(match: (c: RawCommand) => boolean, timeoutMs = 3000): Promise<RawCommand> {
    let found: RawCommand | undefined;
    await waitFor(
      () => {
        found = this.commands.find(match);
        return found !== undefined || this.isClosed;
      },
      timeoutMs,
      'command from server',
    );
    if (!found) throw new Error(`connection closed before the expected command; got ${this.commandNames()}`);
    return found;
  }

  commandNames(): string {
    return JSON.stringify(this.commands.map((c) => c.name));
  }

  /** Resolves true when the server closes within `ms`, false otherwise. */
  async waitClosed(ms: number): Promise<boolean> {
    let t: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((r) => {
      t = setTimeout(() => r(false), ms);
    });
    const r = await Promise.race([this.closed.then(() => true), timedOut]);
    clearTimeout(t);
    return r;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Raw chunk bytes: a fmt-0 header on `csid` declaring `length` bytes of `type`, followed by `body`. */
export function fmt0Chunk(csid: number, type: number, length: number, body: Buffer, streamId = 0): Buffer {
  const basic =
    csid < 64
      ? Buffer.from([csid])
      : csid < 320
        ? Buffer.from([0, csid - 64])
        : Buffer.from([1, (csid - 64) & 0xff, (csid - 64) >> 8]);
  const h = Buffer.alloc(11);
  h.writeUIntBE(0, 0, 3);
  h.writeUIntBE(length, 3, 3);
  h[6] = type;
  h.writeUInt32LE(streamId, 7);
  return Buffer.concat([basic, h, body]);
}

/** Set Chunk Size with an arbitrary 32-bit value (the encoder's helper masks the top bit). */
export function rawSetChunkSize(value: number): Buffer {
  const body = Buffer.alloc(4);
  body.writeUInt32BE(value >>> 0, 0);
  return fmt0Chunk(2, MessageType.SetChunkSize, 4, body);
}

/** Close reasons an RTMP connection may end with when fed garbage: errors.ts codes and peer-closed. */
export const RTMP_ERROR_REASONS: ReadonlySet<string> = new Set([
  'peer-closed',
  'RTMP_BAD_VERSION',
  'RTMP_HANDSHAKE_TIMEOUT',
  'RTMP_HANDSHAKE_FAILED',
  'RTMP_BAD_CHUNK_SIZE',
  'RTMP_MESSAGE_TOO_LARGE',
  'RTMP_BUFFER_LIMIT',
  'RTMP_BAD_CHUNK_HEADER',
  'RTMP_TOO_MANY_CHUNK_STREAMS',
  'RTMP_BAD_COMMAND',
  'RTMP_PROTOCOL',
  'AMF_TRUNCATED',
  'AMF_BAD_MARKER',
  'AMF_TOO_DEEP',
  'AMF_TOO_LONG',
  'AMF_BAD_REFERENCE',
]);
