import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { AddressPolicy } from './address-policy';

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to every address it has. Injectable, so tests can play a rebinding DNS server. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = (hostname) => lookup(hostname, { all: true, verbatim: true });

/** Where one attempt connects: the checked address, while Host and TLS SNI keep the URL's name. */
export interface PinnedTarget {
  url: URL;
  /** The URL's host name, without IPv6 brackets. */
  hostname: string;
  address: string;
  family: number;
  port: number;
  /** The name's other addresses, every one checked too: tried in order when connecting to one is refused. */
  alternatives: ResolvedAddress[];
}

export type TargetResolution = { ok: true; target: PinnedTarget } | { ok: false; reason: string };

const hostnameOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1');

// The guard resolves once, checks every address the name has, and hands back one of them to connect to; the
// request then never resolves the name again, so a DNS answer that changes between check and connect (rebinding)
// cannot reach a blocked address.
export class SsrfGuard {
  constructor(
    private readonly policy: AddressPolicy,
    private readonly resolver: Resolver = systemResolver,
  ) {}

  /** What registration refuses outright: not http(s), credentials in the URL, a blocked literal address. */
  checkUrl(raw: string): string | null {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return 'must be an absolute http(s) URL';
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      return `scheme ${url.protocol} is not http or https`;
    if (url.username || url.password) return 'must not carry credentials (user:password@)';
    if (url.hash) return 'must not have a fragment';
    // The WHATWG parser already turned 2130706433, 0x7f.1 and 017700000001 into 127.0.0.1.
    const host = hostnameOf(url);
    if (isIP(host)) {
      const verdict = this.policy.check(host);
      if (!verdict.allowed) return verdict.reason;
    } else if (host === 'localhost' || host.endsWith('.localhost')) {
      const verdict = this.policy.check('127.0.0.1');
      if (!verdict.allowed) return `'${host}' is the local machine; ${verdict.reason}`;
    }
    return null;
  }

  async resolve(raw: string): Promise<TargetResolution> {
    const problem = this.checkUrl(raw);
    if (problem) return { ok: false, reason: `refused URL: ${problem}` };
    const url = new URL(raw);
    const hostname = hostnameOf(url);
    const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    let addresses: ResolvedAddress[];
    if (isIP(hostname)) {
      addresses = [{ address: hostname, family: isIP(hostname) }];
    } else {
      try {
        addresses = await this.resolver(hostname);
      } catch (e) {
        return { ok: false, reason: `cannot resolve ${hostname}: ${(e as Error).message}` };
      }
      if (!addresses.length) return { ok: false, reason: `${hostname} has no address` };
    }
    for (const { address } of addresses) {
      const verdict = this.policy.check(address);
      if (!verdict.allowed) return { ok: false, reason: `refused ${hostname}: ${verdict.reason}` };
    }
    const [chosen, ...alternatives] = addresses;
    return {
      ok: true,
      target: { url, hostname, address: chosen!.address, family: chosen!.family, port, alternatives },
    };
  }
}
