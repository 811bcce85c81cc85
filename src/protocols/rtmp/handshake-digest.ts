/**
 * Digest ("complex", Flash Player 9.0.115+) RTMP handshake math. Not part of the RTMP 1.0 spec (§5.2 only
 * describes the simple handshake); documented in protocol-brief §1.1 and implemented identically by
 * ffmpeg (rtmpproto.c), librtmp (handshake.h), nginx-rtmp (ngx_rtmp_handshake.c) and SRS.
 *
 * A 1536-byte C1/S1 hides a 32-byte HMAC-SHA256 digest inside its 1528 "random" bytes. The digest is the
 * HMAC of the whole packet with those 32 bytes removed; its position is derived from 4 offset bytes:
 *   scheme A ("base 8"):   sum(bytes 8..11)    % 728 + 12
 *   scheme B ("base 772"): sum(bytes 772..775) % 728 + 776
 * C2/S2 instead end with a 32-byte signature: HMAC(key = HMAC(fullKey, peerDigest), packet[0..1504]).
 */
import { createHmac } from 'node:crypto';

/** Size of C1/S1/C2/S2 (RTMP 1.0 §5.2.3, §5.2.4). */
export const HANDSHAKE_PACKET_SIZE = 1536;
/** Length of an HMAC-SHA256 digest. */
export const DIGEST_LENGTH = 32;
/** Offset of the signature in a digest-mode C2/S2 (the last 32 bytes). */
export const SIGNATURE_OFFSET = HANDSHAKE_PACKET_SIZE - DIGEST_LENGTH; // 1504

/** The 32 constant bytes appended to both key strings (protocol constant, brief §1.1). */
const KEY_TAIL = Buffer.from([
  0xf0, 0xee, 0xc2, 0x4a, 0x80, 0x68, 0xbe, 0xe8, 0x2e, 0x00, 0xd0, 0xd1, 0x02, 0x9e, 0x7e, 0x57, 0x6e, 0xec,
  0x5d, 0x2d, 0x29, 0x80, 0x6f, 0xab, 0x93, 0xb8, 0xe6, 0x36, 0xcf, 0xeb, 0x31, 0xae,
]);

/** Full Flash Player key (62 bytes); the first 30 bytes (the ASCII text) key the C1 digest. */
export const FP_KEY: Buffer = Buffer.concat([
  Buffer.from('Genuine Adobe Flash Player 001', 'latin1'),
  KEY_TAIL,
]);
/** Full Flash Media Server key (68 bytes); the first 36 bytes (the ASCII text) key the S1 digest. */
export const FMS_KEY: Buffer = Buffer.concat([
  Buffer.from('Genuine Adobe Flash Media Server 001', 'latin1'),
  KEY_TAIL,
]);
/** 30-byte key for client (C1) digests. */
export const FP_KEY_SHORT: Buffer = FP_KEY.subarray(0, 30);
/** 36-byte key for server (S1) digests. */
export const FMS_KEY_SHORT: Buffer = FMS_KEY.subarray(0, 36);

/** 'A' = offset bytes at 8..11 (ffmpeg/librtmp client C1, nginx S1); 'B' = offset bytes at 772..775. */
export type DigestScheme = 'A' | 'B';

/** Where a validated digest was found. */
export interface DigestMatch {
  scheme: DigestScheme;
  /** byte offset of the 32-byte digest inside the 1536-byte packet */
  pos: number;
  /** copy of the 32 digest bytes */
  digest: Buffer;
}

export function hmacSha256(key: Buffer, ...data: Buffer[]): Buffer {
  const h = createHmac('sha256', key);
  for (const d of data) h.update(d);
  return h.digest();
}

/** Position of the digest inside a 1536-byte C1/S1 under `scheme` (always within 12..1503). */
export function digestPosition(packet: Buffer, scheme: DigestScheme): number {
  const base = scheme === 'A' ? 8 : 772;
  const sum = packet[base] + packet[base + 1] + packet[base + 2] + packet[base + 3];
  return (sum % 728) + base + 4;
}

/** HMAC of the packet with the 32 bytes at `pos` left out. */
export function computeDigest(packet: Buffer, pos: number, key: Buffer): Buffer {
  return hmacSha256(
    key,
    packet.subarray(0, pos),
    packet.subarray(pos + DIGEST_LENGTH, HANDSHAKE_PACKET_SIZE),
  );
}

/**
 * Look for a valid digest under the given schemes, in order. Servers validating C1 try B then A like
 * nginx and ffmpeg; clients validating S1 do the same (nginx places S1's digest by scheme A).
 */
export function findDigest(
  packet: Buffer,
  key: Buffer,
  schemes: readonly DigestScheme[] = ['B', 'A'],
): DigestMatch | undefined {
  if (packet.length < HANDSHAKE_PACKET_SIZE) return undefined;
  for (const scheme of schemes) {
    const pos = digestPosition(packet, scheme);
    const expected = computeDigest(packet, pos, key);
    if (expected.equals(packet.subarray(pos, pos + DIGEST_LENGTH))) {
      return { scheme, pos, digest: Buffer.from(expected) };
    }
  }
  return undefined;
}

/** Compute and write the digest into `packet` (in place) under `scheme`; returns the digest. */
export function writeDigest(packet: Buffer, scheme: DigestScheme, key: Buffer): Buffer {
  const pos = digestPosition(packet, scheme);
  const digest = computeDigest(packet, pos, key);
  digest.copy(packet, pos);
  return digest;
}

/** Signature for a digest-mode C2/S2: HMAC(HMAC(fullKey, peerDigest), packet[0..1504]). */
export function computeSignature(packet: Buffer, peerDigest: Buffer, fullKey: Buffer): Buffer {
  const key = hmacSha256(fullKey, peerDigest);
  return hmacSha256(key, packet.subarray(0, SIGNATURE_OFFSET));
}

/** Write the signature into the last 32 bytes of a 1536-byte C2/S2 (in place). */
export function signPacket(packet: Buffer, peerDigest: Buffer, fullKey: Buffer): void {
  computeSignature(packet, peerDigest, fullKey).copy(packet, SIGNATURE_OFFSET);
}

/** Whether the last 32 bytes of a C2/S2 are the signature for `peerDigest` under `fullKey`. */
export function verifySignature(packet: Buffer, peerDigest: Buffer, fullKey: Buffer): boolean {
  return computeSignature(packet, peerDigest, fullKey).equals(
    packet.subarray(SIGNATURE_OFFSET, HANDSHAKE_PACKET_SIZE),
  );
}
