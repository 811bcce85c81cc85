/**
 * RTMP handshake (RTMP 1.0 §5.2), sans-I/O: feed received bytes with `push()`, write `out` to the peer.
 *
 * Interop rules (protocol-brief §0 rules 1–2, §1.1):
 * - Server: once C0+C1 are in, send S0+S1+S2 in one go and never wait for C2 first (GStreamer and ffmpeg
 *   read all 3073 bytes before they send C2).
 * - Server: if C1 bytes 4..7 are non-zero and carry a valid digest, answer with the digest handshake (S1
 *   version 13.14.10.13 like nginx). Otherwise answer simple with S1 version bytes = 0 (ffmpeg players
 *   reject a non-zero S1 version without a valid digest) and S2 = exact echo of C1 (StreamPack fails
 *   otherwise, GStreamer and librtmp warn). A non-zero C1 version is never an error (Larix, joy4#19).
 * - Client: behave like ffmpeg — digest C1 (v9.0.124.2, scheme A), check S1/S2 only if S1[4] >= 3 and only
 *   record a warning on mismatch; C2 = S1 echo when the server is simple.
 * - C2 is read but never verified (nginx and SRS do not either).
 */
import { randomBytes, randomFillSync } from 'node:crypto';
import { TidecastError } from '../../errors.js';
import {
  FMS_KEY,
  FMS_KEY_SHORT,
  FP_KEY,
  FP_KEY_SHORT,
  findDigest,
  HANDSHAKE_PACKET_SIZE,
  signPacket,
  verifySignature,
  writeDigest,
} from './handshake-digest.js';

/** The only RTMP version we speak (RTMP 1.0 §5.2.2). */
export const RTMP_VERSION = 3;
/** S1 version announced in a digest reply (nginx-rtmp's value). */
const SERVER_DIGEST_VERSION = [13, 14, 10, 13] as const;
/** C1 version announced by a digest client (ffmpeg's value, "LNX 9,0,124,2"). */
const CLIENT_DIGEST_VERSION = [9, 0, 124, 2] as const;

export interface HandshakeStep {
  /** bytes to send to the peer now (possibly empty array) */
  out: Buffer[];
  /** true once the handshake is complete */
  done: boolean;
  /**
   * bytes received after the end of the handshake (first chunk-stream bytes), only when done (possibly
   * empty; may share memory with the pushed buffer). Pushing after completion returns the input here.
   */
  rest?: Buffer;
}

export interface HandshakeOptions {
  /** ms clock for the 4-byte time field of C1/S1 (written modulo 2^32); default: process uptime */
  now?: () => number;
}

const defaultNow = (): number => performance.now();

/** Validate C0/S0 (RTMP 1.0 §5.2.2). */
function checkVersion(version: number, which: 'C0' | 'S0'): void {
  if (version === RTMP_VERSION) return;
  if (version === 6 || version === 8 || version === 9) {
    throw new TidecastError(
      'RTMP_BAD_VERSION',
      `${which} requests RTMPE (encrypted RTMP, version ${version}), which is not supported; use plain rtmp://`,
    );
  }
  if (version >= 32) {
    // §5.2.2: 32-255 are not allowed so that RTMP can be told apart from text protocols.
    const ch = version < 127 ? ` ('${String.fromCharCode(version)}')` : '';
    throw new TidecastError(
      'RTMP_BAD_VERSION',
      `${which} byte 0x${version.toString(16)}${ch} is not an RTMP version; is the peer speaking another protocol (HTTP, TLS)?`,
    );
  }
  throw new TidecastError('RTMP_BAD_VERSION', `${which} requests unsupported RTMP version ${version}`);
}

/** Fixed-size accumulator for one handshake packet fed in arbitrary slices. */
class Packet {
  readonly buf = Buffer.alloc(HANDSHAKE_PACKET_SIZE);
  private filled = 0;
  /** Copy what is still missing from `bytes[offset..]`; returns the offset of the first unused byte. */
  fill(bytes: Buffer, offset: number): number {
    const n = Math.min(HANDSHAKE_PACKET_SIZE - this.filled, bytes.length - offset);
    bytes.copy(this.buf, this.filled, offset, offset + n);
    this.filled += n;
    return offset + n;
  }
  get full(): boolean {
    return this.filled === HANDSHAKE_PACKET_SIZE;
  }
}

/** 1536-byte C1/S1 skeleton: time (BE), 4 version bytes, 1528 random bytes (§5.2.3). */
function newChallenge(time: number, version: readonly number[]): Buffer {
  const p = Buffer.alloc(HANDSHAKE_PACKET_SIZE);
  p.writeUInt32BE(Math.floor(time) >>> 0, 0);
  for (let i = 0; i < 4; i++) p[4 + i] = version[i];
  randomFillSync(p, 8);
  return p;
}

type Stage = 'version' | 'challenge' | 'response' | 'done';

/** Shared stepping logic: version byte, then C1/S1 (challenge), then C2/S2 (response). */
abstract class HandshakeBase {
  protected stage: Stage = 'version';
  private readonly challenge = new Packet();
  private readonly response = new Packet();
  private failure: unknown;

  protected abstract readonly peerVersionName: 'C0' | 'S0';
  /** Called once the peer's C1/S1 is complete; returns bytes to send. */
  protected abstract onChallenge(packet: Buffer): Buffer[];
  /** Called once the peer's C2/S2 is complete. */
  protected abstract onResponse(packet: Buffer): void;

  protected step(bytes: Buffer): HandshakeStep {
    if (this.failure !== undefined) throw this.failure;
    if (this.stage === 'done') return { out: [], done: true, rest: bytes };
    try {
      const out: Buffer[] = [];
      let off = 0;
      if (this.stage === 'version' && bytes.length > 0) {
        checkVersion(bytes[0], this.peerVersionName);
        off = 1;
        this.stage = 'challenge';
      }
      if (this.stage === 'challenge') {
        off = this.challenge.fill(bytes, off);
        if (this.challenge.full) {
          out.push(...this.onChallenge(this.challenge.buf));
          this.stage = 'response';
        }
      }
      if (this.stage === 'response') {
        off = this.response.fill(bytes, off);
        if (this.response.full) {
          this.onResponse(this.response.buf);
          this.stage = 'done';
          return { out, done: true, rest: bytes.subarray(off) };
        }
      }
      return { out, done: false };
    } catch (err) {
      this.failure = err; // a failed handshake stays failed
      throw err;
    }
  }
}

/** Server side: consumes C0+C1+C2, emits S0+S1+S2 as a single buffer as soon as C1 is complete. */
export class ServerHandshake extends HandshakeBase {
  protected readonly peerVersionName = 'C0';
  private readonly now: () => number;
  private chosenMode: 'simple' | 'digest' | undefined;

  constructor(opts: HandshakeOptions = {}) {
    super();
    this.now = opts.now ?? defaultNow;
  }

  /** 'simple' | 'digest' once C1 has been seen, else undefined */
  get mode(): 'simple' | 'digest' | undefined {
    return this.chosenMode;
  }

  /** feed any slice of bytes from the client */
  push(bytes: Buffer): HandshakeStep {
    return this.step(bytes);
  }

  protected onChallenge(c1: Buffer): Buffer[] {
    // Only a client announcing a version (bytes 4..7) can be doing the digest handshake; try scheme B then
    // A like nginx/ffmpeg. No valid digest -> plain simple handshake, never an error (rule 2).
    const match = c1.readUInt32BE(4) !== 0 ? findDigest(c1, FP_KEY_SHORT, ['B', 'A']) : undefined;
    const s0 = Buffer.from([RTMP_VERSION]);
    if (match) {
      this.chosenMode = 'digest';
      // S1: own version + FMS digest, placed by the scheme the client used (clients try both anyway).
      const s1 = newChallenge(this.now(), SERVER_DIGEST_VERSION);
      writeDigest(s1, match.scheme, FMS_KEY_SHORT);
      // S2: 1504 random bytes + HMAC(HMAC(FMS full key, C1 digest), S2[0..1504]).
      const s2 = randomBytes(HANDSHAKE_PACKET_SIZE);
      signPacket(s2, match.digest, FMS_KEY);
      return [Buffer.concat([s0, s1, s2])];
    }
    this.chosenMode = 'simple';
    // S1 version bytes must be 0 (§5.2.3, and ffmpeg players demand a digest otherwise); S2 = C1 echo.
    const s1 = newChallenge(this.now(), [0, 0, 0, 0]);
    return [Buffer.concat([s0, s1, c1])];
  }

  protected onResponse(_c2: Buffer): void {
    // C2 is not verified (nginx, SRS); clients put all sorts of things in it.
  }
}

export interface ClientHandshakeOptions extends HandshakeOptions {
  /** default true: send a digest C1 like ffmpeg (version 9.0.124.2) */
  digest?: boolean;
}

/** Client side (relay/pull): `start()` gives C0+C1; `push()` consumes S0+S1+S2 and emits C2. */
export class ClientHandshake extends HandshakeBase {
  protected readonly peerVersionName = 'S0';
  /** Non-fatal problems with the server's S1/S2 (ffmpeg would abort on some of them; we only warn). */
  readonly warnings: string[] = [];
  private readonly now: () => number;
  private readonly useDigest: boolean;
  private c1: Buffer | undefined;
  private c1Digest: Buffer | undefined;
  private serverDigest: Buffer | undefined;
  private serverMode: 'simple' | 'digest' | undefined;

  constructor(opts: ClientHandshakeOptions = {}) {
    super();
    this.useDigest = opts.digest ?? true;
    this.now = opts.now ?? defaultNow;
  }

  /** 'digest' if S1 carried a valid server digest, 'simple' otherwise; undefined before S1 */
  get mode(): 'simple' | 'digest' | undefined {
    return this.serverMode;
  }

  /** C0+C1 to send first */
  start(): Buffer {
    if (this.c1) throw new TidecastError('RTMP_HANDSHAKE_FAILED', 'ClientHandshake.start() called twice');
    const c1 = newChallenge(this.now(), this.useDigest ? CLIENT_DIGEST_VERSION : [0, 0, 0, 0]);
    // ffmpeg places the C1 digest by scheme A (offset bytes 8..11), keyed with the 30-byte FP key.
    if (this.useDigest) this.c1Digest = writeDigest(c1, 'A', FP_KEY_SHORT);
    this.c1 = c1;
    return Buffer.concat([Buffer.from([RTMP_VERSION]), c1]);
  }

  /** feed any slice of bytes from the server; C2 appears in `out` as soon as S1 is complete */
  push(bytes: Buffer): HandshakeStep {
    if (!this.c1) throw new TidecastError('RTMP_HANDSHAKE_FAILED', 'ClientHandshake.push() before start()');
    return this.step(bytes);
  }

  protected onChallenge(s1: Buffer): Buffer[] {
    this.serverMode = 'simple';
    // Like ffmpeg: S1[4] >= 3 means the server claims the digest handshake (only meaningful if we sent one).
    if (this.useDigest && s1[4] >= 3) {
      const match = findDigest(s1, FMS_KEY_SHORT, ['B', 'A']);
      if (match) {
        this.serverMode = 'digest';
        this.serverDigest = match.digest;
        // C2: 1504 random bytes + HMAC(HMAC(FP full key, S1 digest), C2[0..1504]).
        const c2 = randomBytes(HANDSHAKE_PACKET_SIZE);
        signPacket(c2, match.digest, FP_KEY);
        return [c2];
      }
      const v = Array.from(s1.subarray(4, 8)).join('.');
      this.warnings.push(
        `server S1 announces version ${v} but carries no valid digest; answering with an S1 echo`,
      );
    }
    return [Buffer.from(s1)]; // §5.2.4: C2 echoes S1 (ffmpeg echoes it byte for byte)
  }

  protected onResponse(s2: Buffer): void {
    if (this.serverDigest) {
      if (!verifySignature(s2, this.c1Digest!, FMS_KEY)) {
        this.warnings.push(
          'S2 signature does not match our C1 digest (ffmpeg would report "Signature mismatch")',
        );
      }
    } else if (!s2.subarray(8).equals(this.c1!.subarray(8))) {
      // §5.2.4: the random echo must match; librtmp/GStreamer only warn too.
      this.warnings.push('S2 does not echo the random bytes of our C1');
    }
  }
}
