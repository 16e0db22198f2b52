import { allowlistOf } from '../config';
import { AddressPolicy, ipv4MappedAddress } from './address-policy';
import { type Resolver, SsrfGuard } from './ssrf-guard';

const policy = new AddressPolicy();

describe('AddressPolicy', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'this network'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'cloud metadata (link-local)'],
    ['100.64.0.1', 'CGNAT'],
    ['100.127.255.255', 'CGNAT'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    ['198.18.0.1', 'benchmarking'],
    ['::1', 'IPv6 loopback'],
    ['::', 'IPv6 unspecified'],
    ['fc00::1', 'unique local'],
    ['fd12:3456::1', 'unique local'],
    ['fe80::1', 'link-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback, hex form'],
    ['::ffff:10.0.0.1', 'IPv4-mapped private'],
    ['::ffff:169.254.169.254', 'IPv4-mapped metadata'],
    ['::ffff:a9fe:a9fe', 'IPv4-mapped metadata, hex form'],
    ['0:0:0:0:0:ffff:7f00:0001', 'IPv4-mapped loopback, full form'],
    ['::127.0.0.1', 'IPv4-compatible loopback'],
    ['64:ff9b::7f00:1', 'NAT64 of loopback'],
    ['2002:7f00:1::', '6to4 of loopback'],
  ])('refuses %s (%s)', (address) => {
    expect(policy.check(address)).toMatchObject({ allowed: false });
  });

  it.each([
    '93.184.216.34',
    '8.8.8.8',
    '1.1.1.1',
    '2606:4700::1111',
    '::ffff:8.8.8.8',
    '172.32.0.1',
    '100.128.0.1',
  ])('lets public %s through', (address) => {
    expect(policy.check(address)).toEqual({ allowed: true });
  });

  it('refuses what is not an address', () => {
    expect(policy.check('localhost')).toMatchObject({ allowed: false });
  });

  it('lets an allowlisted network through, in its IPv4-mapped form too, and nothing beyond it', () => {
    const local = new AddressPolicy(allowlistOf(['127.0.0.0/8', '::1/128']));
    expect(local.check('127.0.0.1')).toEqual({ allowed: true });
    expect(local.check('::ffff:127.0.0.1')).toEqual({ allowed: true });
    expect(local.check('::1')).toEqual({ allowed: true });
    expect(local.check('10.0.0.1')).toMatchObject({ allowed: false });
    expect(local.check('169.254.169.254')).toMatchObject({ allowed: false });
  });

  it('reads the IPv4 address inside IPv4-mapped IPv6 forms', () => {
    expect(ipv4MappedAddress('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(ipv4MappedAddress('::ffff:192.168.0.1')).toBe('192.168.0.1');
    expect(ipv4MappedAddress('2001:db8::1')).toBeNull();
    expect(ipv4MappedAddress('127.0.0.1')).toBeNull();
  });
});

describe('SsrfGuard', () => {
  const publicResolver: Resolver = () => Promise.resolve([{ address: '93.184.216.34', family: 4 }]);
  const guard = new SsrfGuard(policy, publicResolver);

  it.each([
    'http://127.0.0.1/hook',
    'http://2130706433/', // decimal 127.0.0.1
    'http://0x7f.1/', // hex and short form
    'http://0177.0.0.1/', // octal
    'http://017700000001/',
    'http://127.1/',
    'http://0.0.0.0/',
    'http://[::]/',
    'http://[::1]:8080/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:7f00:1]/',
    'http://169.254.169.254/latest/meta-data/',
    'http://100.64.0.1/',
    'http://10.0.0.1/',
    'http://192.168.0.10/',
    'http://localhost/',
    'http://api.localhost/',
  ])('refuses %s at registration and at delivery, without resolving it', async (url) => {
    expect(guard.checkUrl(url)).not.toBeNull();
    const resolution = await guard.resolve(url);
    expect(resolution.ok).toBe(false);
  });

  it.each(['ftp://example.com/', 'file:///etc/passwd', 'gopher://example.com/', 'not a url'])(
    'refuses %s: not http(s)',
    (url) => {
      expect(guard.checkUrl(url)).toMatch(/http/);
    },
  );

  it('refuses credentials in the URL', () => {
    expect(guard.checkUrl('https://user:pass@example.com/hook')).toMatch(/credentials/);
  });

  it('refuses a public-looking name that resolves to a private address (DNS rebinding)', async () => {
    const rebinding = new SsrfGuard(policy, () =>
      Promise.resolve([
        { address: '93.184.216.34', family: 4 },
        { address: '169.254.169.254', family: 4 },
      ]),
    );
    expect(rebinding.checkUrl('https://hooks.example.com/in')).toBeNull();
    const resolution = await rebinding.resolve('https://hooks.example.com/in');
    expect(resolution).toMatchObject({ ok: false });
    expect(!resolution.ok && resolution.reason).toMatch(/169\.254\.169\.254/);
  });

  it('resolves once and pins the checked address, keeping the name for Host and SNI', async () => {
    let lookups = 0;
    const counting = new SsrfGuard(policy, () => {
      lookups += 1;
      return Promise.resolve([{ address: '93.184.216.34', family: 4 }]);
    });
    const resolution = await counting.resolve('https://hooks.example.com:8443/in?x=1');
    expect(lookups).toBe(1);
    expect(resolution).toMatchObject({
      ok: true,
      target: { hostname: 'hooks.example.com', address: '93.184.216.34', port: 8443 },
    });
  });

  it('reports a name that does not resolve', async () => {
    const failing = new SsrfGuard(policy, () =>
      Promise.reject(new Error('getaddrinfo ENOTFOUND nowhere.invalid')),
    );
    const resolution = await failing.resolve('https://nowhere.invalid/');
    expect(!resolution.ok && resolution.reason).toMatch(/ENOTFOUND/);
  });
});
