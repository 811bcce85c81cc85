import { isIP } from 'node:net';

/**
 * Canonical text form of an IP address, so the same peer always compares equal:
 * - IPv4-mapped IPv6 (`::ffff:1.2.3.4`, `::ffff:102:304`, any case) becomes plain IPv4 (`1.2.3.4`);
 *   dual-stack sockets report IPv4 peers this way.
 * - other IPv6 is lower-cased and compressed (`2001:0DB8:0::1` -> `2001:db8::1`); a zone (`%eth0`) is kept.
 * Returns undefined when the input is not an IP address.
 */
export function normaliseIp(input: string): string | undefined {
  const ip = input.trim();
  const family = isIP(ip);
  if (family === 4) return ip;
  if (family !== 6) return undefined;
  const zoneAt = ip.indexOf('%');
  const zone = zoneAt >= 0 ? ip.slice(zoneAt).toLowerCase() : '';
  const bare = zoneAt >= 0 ? ip.slice(0, zoneAt) : ip;
  let canonical: string;
  try {
    // The WHATWG URL parser serialises IPv6 hosts in the RFC 5952 canonical form.
    canonical = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  } catch {
    canonical = bare.toLowerCase();
  }
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (mapped && !zone) {
    const hi = Number.parseInt(mapped[1], 16);
    const lo = Number.parseInt(mapped[2], 16);
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return canonical + zone;
}
