import { BlockList, isIP } from 'node:net';
import { normaliseIp } from './ip.js';

/**
 * IP allow/deny lists. Entries are addresses (`10.0.0.1`, `2001:db8::1`) or CIDR ranges (`10.0.0.0/8`,
 * `2001:db8::/32`). IPv4-mapped IPv6 (`::ffff:10.0.0.1`, as dual-stack sockets report IPv4 peers) is treated
 * as the IPv4 address, both in rules and in checked addresses. IPv4 peers are matched only by IPv4 rules and
 * IPv6 peers only by IPv6 rules, so `::/0` means "every IPv6 peer", not "everyone" (Node's BlockList on its
 * own would let `::/0` match IPv4 too, through the mapped range).
 */

export type IpCheck = { ok: true } | { ok: false; reason: 'ip-denied' | 'ip-not-allowed' };

interface ParsedCidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** One entry as a normalised subnet, or an Error message saying what is wrong with it. */
function parseCidr(entry: string): ParsedCidr | string {
  const text = entry.trim();
  const slash = text.indexOf('/');
  const addrText = slash >= 0 ? text.slice(0, slash) : text;
  const prefixText = slash >= 0 ? text.slice(slash + 1) : undefined;
  if (addrText.includes('%')) return 'zoned addresses are not supported';
  const family = isIP(addrText);
  if (family === 0) return 'not an IP address or CIDR range';
  const max = family === 4 ? 32 : 128;
  let prefix = max;
  if (prefixText !== undefined) {
    if (!/^[0-9]{1,3}$/.test(prefixText) || Number(prefixText) > max) {
      return `prefix length must be 0-${max}`;
    }
    prefix = Number(prefixText);
  }
  const address = normaliseIp(addrText) as string;
  if (family === 6 && isIP(address) === 4) {
    // ::ffff:a.b.c.d/n: the IPv4 part is the last 32 bits
    if (prefix < 96) return 'an IPv4-mapped range needs a prefix of at least 96';
    return { address, prefix: prefix - 96, family: 'ipv4' };
  }
  return { address, prefix, family: family === 4 ? 'ipv4' : 'ipv6' };
}

/** True when `entry` is an IP address or CIDR range `parseCidrList` accepts. */
export function isValidCidr(entry: string): boolean {
  return typeof parseCidr(entry) !== 'string';
}

/**
 * A BlockList of the entries (only those of `family` when given); throws naming the first bad entry.
 * Every entry is validated even when filtered out.
 */
export function parseCidrList(list: readonly string[], family?: 'ipv4' | 'ipv6'): BlockList {
  const blocks = new BlockList();
  for (const entry of list) {
    const parsed = parseCidr(entry);
    if (typeof parsed === 'string') throw new Error(`invalid IP rule ${JSON.stringify(entry)}: ${parsed}`);
    if (family && parsed.family !== family) continue;
    if (parsed.prefix === (parsed.family === 'ipv4' ? 32 : 128))
      blocks.addAddress(parsed.address, parsed.family);
    else blocks.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  return blocks;
}

export interface IpRulesOptions {
  /** when non-empty, only these addresses may connect */
  allow?: readonly string[];
  /** these addresses may never connect; deny wins over allow */
  deny?: readonly string[];
}

interface FamilyLists {
  ipv4: BlockList;
  ipv6: BlockList;
}

function compile(list: readonly string[]): FamilyLists | null {
  if (list.length === 0) return null;
  return { ipv4: parseCidrList(list, 'ipv4'), ipv6: parseCidrList(list, 'ipv6') };
}

export class IpRules {
  private readonly allow: FamilyLists | null;
  private readonly deny: FamilyLists | null;

  /** Throws naming the first bad entry. */
  constructor({ allow = [], deny = [] }: IpRulesOptions = {}) {
    this.allow = compile(allow);
    this.deny = compile(deny);
  }

  /** True when no rule can reject anyone. */
  get empty(): boolean {
    return this.allow === null && this.deny === null;
  }

  /** Deny first, then allow. An address that cannot be parsed is rejected whenever there are rules. */
  check(ip: string): IpCheck {
    if (this.empty) return { ok: true };
    // a zone (`fe80::1%eth0`) does not take part in matching
    const address = normaliseIp(ip)?.replace(/%.*$/, '');
    const family = address === undefined ? 0 : isIP(address);
    if (address === undefined || family === 0) {
      return { ok: false, reason: this.deny ? 'ip-denied' : 'ip-not-allowed' };
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (this.deny?.[type].check(address, type)) return { ok: false, reason: 'ip-denied' };
    if (this.allow && !this.allow[type].check(address, type)) return { ok: false, reason: 'ip-not-allowed' };
    return { ok: true };
  }
}
