import { type LookupAddress, lookup } from 'node:dns';
import { lookup as lookupAll } from 'node:dns/promises';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Where webhooks may be sent. Outbound calls go to public addresses only: never this machine, the
 * networks behind it, or a cloud's metadata service. `allowPrivateTargets` (tests, closed networks)
 * also admits loopback, private, shared (CGNAT) and unique-local addresses; never the rest.
 */
export type TargetPolicy = { allowPrivateTargets: boolean };

type AddressClass = { what: string; private?: true; v4?: [string, number][]; v6?: [string, number][] };

// Checked in order; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) matches the IPv4 ranges.
const CLASSES: AddressClass[] = [
  {
    what: 'a cloud metadata address',
    v4: [
      ['169.254.169.254', 32],
      ['169.254.170.2', 32],
      ['100.100.100.200', 32],
    ],
    v6: [['fd00:ec2::254', 128]],
  },
  { what: 'the unspecified address', v4: [['0.0.0.0', 8]], v6: [['::', 128]] },
  { what: 'the broadcast address', v4: [['255.255.255.255', 32]] },
  { what: 'a loopback address', private: true, v4: [['127.0.0.0', 8]], v6: [['::1', 128]] },
  {
    what: 'a private network address',
    private: true,
    v4: [
      ['10.0.0.0', 8],
      ['172.16.0.0', 12],
      ['192.168.0.0', 16],
    ],
  },
  { what: 'a shared (carrier-grade NAT) address', private: true, v4: [['100.64.0.0', 10]] },
  { what: 'a unique-local address', private: true, v6: [['fc00::', 7]] },
  { what: 'a link-local address', v4: [['169.254.0.0', 16]], v6: [['fe80::', 10]] },
  { what: 'a multicast address', v4: [['224.0.0.0', 4]], v6: [['ff00::', 8]] },
  {
    what: 'a reserved or special-purpose address',
    v4: [
      ['192.0.0.0', 24],
      ['192.0.2.0', 24],
      ['192.31.196.0', 24],
      ['192.52.193.0', 24],
      ['192.88.99.0', 24],
      ['192.175.48.0', 24],
      ['198.18.0.0', 15],
      ['198.51.100.0', 24],
      ['203.0.113.0', 24],
      ['240.0.0.0', 4],
    ],
    v6: [
      // IETF protocol assignments (Teredo among them), documentation, 6to4: some embed an IPv4 address.
      ['2001::', 23],
      ['2001:db8::', 32],
      ['2002::', 16],
      ['3fff::', 20],
      ['fec0::', 10],
    ],
  },
];

const RANGES = CLASSES.map((c) => {
  const list = new BlockList();
  for (const [net, prefix] of c.v4 ?? []) list.addSubnet(net, prefix, 'ipv4');
  for (const [net, prefix] of c.v6 ?? []) list.addSubnet(net, prefix, 'ipv6');
  return { ...c, list };
});

// Public IPv6 unicast lives in 2000::/3; the rest (IPv4-compatible, NAT64, discard …) is refused.
const GLOBAL_UNICAST_V6 = new BlockList();
GLOBAL_UNICAST_V6.addSubnet('2000::', 3, 'ipv6');

/** Names of metadata services, refused whatever they resolve to. */
const METADATA_NAMES = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);

/**
 * What kind of refused address an IP address is (`"a loopback address"`), or null if webhooks may go
 * there. IPv4-mapped IPv6 addresses are judged by the IPv4 address they carry.
 */
export function refusedKindOf(address: string, policy: TargetPolicy): string | null {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const range of RANGES) {
    if (range.list.check(address, type))
      return range.private && policy.allowPrivateTargets ? null : range.what;
  }
  if (type === 'ipv6' && !GLOBAL_UNICAST_V6.check(address, 'ipv6'))
    return 'a reserved or special-purpose address';
  return null;
}

/** A URL's host as an address or a name: no IPv6 brackets, no trailing dot, lower case. */
function hostOf(url: URL): string {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return host.replace(/\.$/, '').toLowerCase();
}

const PUBLIC_ONLY = 'webhooks go to public addresses only';

export type ResolveAll = (host: string) => Promise<{ address: string }[]>;

const resolveWithSystem: ResolveAll = (host) => lookupAll(host, { all: true });

/**
 * Checks a URL a webhook is to be registered with. The WHATWG parser turns every spelling of an IPv4
 * address (decimal, hex, octal, short forms) into its dotted form and decodes the host; a name is
 * resolved and every address it gives must be allowed. Returns the normalised URL, or why it is
 * refused in plain words. The answer can change later: delivery checks the address again at connect
 * time (`postWebhook`).
 */
export async function checkWebhookUrl(
  raw: string,
  policy: TargetPolicy,
  resolve: ResolveAll = resolveWithSystem,
): Promise<{ url: string } | { refused: string }> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { refused: 'not a valid URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return { refused: 'must be an http or https URL' };
  if (url.username || url.password) return { refused: 'must not carry a user name or password' };
  const host = hostOf(url);
  if (isIP(host)) {
    const kind = refusedKindOf(host, policy);
    return kind ? { refused: `${host} is ${kind}; ${PUBLIC_ONLY}` } : { url: url.href };
  }
  if (METADATA_NAMES.has(host)) return { refused: `${host} names a cloud metadata service` };
  let addresses: { address: string }[];
  try {
    addresses = await resolve(host);
  } catch {
    addresses = [];
  }
  if (!addresses.length) return { refused: `the host name ${host} does not resolve` };
  for (const { address } of addresses) {
    const kind = refusedKindOf(address, policy);
    if (kind) return { refused: `${host} resolves to ${address}, ${kind}; ${PUBLIC_ONLY}` };
  }
  return { url: url.href };
}

export class RefusedTarget extends Error {
  override name = 'RefusedTarget';
}

/** Why a URL whose host is an IP address (no lookup happens for those) is refused, or null. */
export function refusalOfLiteralHost(url: URL, policy: TargetPolicy): string | null {
  const host = hostOf(url);
  const kind = isIP(host) ? refusedKindOf(host, policy) : null;
  return kind ? `${host} is ${kind}` : null;
}

/**
 * A DNS lookup for sockets that refuses disallowed answers: the address checked is the address
 * connected to, so a name that resolved to a public address at registration and to a private one
 * now (DNS rebinding) is refused.
 */
export function guardedLookup(policy: TargetPolicy): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      for (const { address } of addresses) {
        const kind = refusedKindOf(address, policy);
        if (kind) return callback(new RefusedTarget(`${hostname} resolves to ${address}, ${kind}`), '', 0);
      }
      if (options.all) return (callback as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const [first] = addresses;
      if (!first)
        return callback(
          Object.assign(new Error(`${hostname} does not resolve`), { code: 'ENOTFOUND' }),
          '',
          0,
        );
      return callback(null, first.address, first.family);
    });
  };
}
