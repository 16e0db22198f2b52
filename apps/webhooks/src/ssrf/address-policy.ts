import { BlockList, isIP } from 'node:net';

// Where a webhook may never connect unless the operator allowlists it: the machine itself, private networks,
// cloud metadata (169.254.169.254), carrier-grade NAT, multicast, reserved and unspecified addresses.
const BLOCKED_V4: readonly [string, number][] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4], // reserved, with 255.255.255.255 broadcast
];
const BLOCKED_V6: readonly [string, number][] = [
  ['::', 96], // unspecified, loopback and the deprecated IPv4-compatible forms
  ['64:ff9b::', 96], // NAT64: reaches IPv4 addresses through a translator
  ['64:ff9b:1::', 48],
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4: embeds an IPv4 address
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
];

export type AddressVerdict = { allowed: true } | { allowed: false; reason: string };

/**
 * Decides whether a resolved address may be connected to. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, also
 * written ::ffff:7f00:1) are judged as the IPv4 address they carry.
 */
export class AddressPolicy {
  private readonly blocked = new BlockList();

  constructor(private readonly allowlist: BlockList = new BlockList()) {
    for (const [address, prefix] of BLOCKED_V4) this.blocked.addSubnet(address, prefix, 'ipv4');
    for (const [address, prefix] of BLOCKED_V6) this.blocked.addSubnet(address, prefix, 'ipv6');
  }

  check(address: string): AddressVerdict {
    const family = isIP(address);
    if (family === 0) return { allowed: false, reason: `'${address}' is not an IP address` };
    const v4 = family === 4 ? address : ipv4MappedAddress(address);
    const [effective, type] = v4 ? [v4, 'ipv4' as const] : [address, 'ipv6' as const];
    if (this.allowlist.check(effective, type)) return { allowed: true };
    if (!this.blocked.check(effective, type)) return { allowed: true };
    return {
      allowed: false,
      reason: `${address} is in a blocked range (loopback, private, link-local, CGNAT, multicast, reserved or unspecified); an operator may allowlist it with WEBHOOKS_ALLOWED_NETWORKS`,
    };
  }
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:0:0/96), or null. */
export function ipv4MappedAddress(address: string): string | null {
  const groups = expandIpv6(address);
  if (!groups) return null;
  if (groups.slice(0, 5).some((g) => g !== 0) || groups[5] !== 0xffff) return null;
  const [hi, lo] = [groups[6]!, groups[7]!];
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

function expandIpv6(address: string): number[] | null {
  if (isIP(address) !== 6) return null;
  let text = address.toLowerCase();
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  // A trailing dotted quad (::ffff:127.0.0.1) is two groups.
  // Bounded groups (an octet has at most three digits): unbounded ones rescan a run of digits from every position.
  const quad = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, null];
  const parse = (part: string | null | undefined) =>
    part ? part.split(':').map((g) => parseInt(g, 16)) : [];
  const left = parse(head);
  const right = parse(tail);
  const fill = tail === null ? 0 : 8 - left.length - right.length;
  const groups = [...left, ...new Array<number>(Math.max(0, fill)).fill(0), ...right];
  return groups.length === 8 ? groups : null;
}
