/**
 * An unmasked binary WebSocket frame (RFC 6455 §5.2) around a payload, in one allocation. Server-to-client
 * frames are unmasked, so the same bytes serve every WebSocket-FLV viewer of a frame.
 */
export function wsBinaryFrame(payload: Buffer): Buffer {
  const len = payload.length;
  const headerLen = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(headerLen + len);
  out[0] = 0x82; // FIN + opcode 2 (binary)
  if (len < 126) {
    out[1] = len;
  } else if (len < 65536) {
    out[1] = 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 127;
    out.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
    out.writeUInt32BE(len >>> 0, 6);
  }
  payload.copy(out, headerLen);
  return out;
}
