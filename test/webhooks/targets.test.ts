import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../src/config.ts';
import { deliverWebhooks } from '../../src/webhooks/delivery.ts';
import { enqueueWebhookEvent } from '../../src/webhooks/outbox.ts';
import { insertSubscription } from '../../src/webhooks/repository.ts';
import { checkWebhookUrl } from '../../src/webhooks/targets.ts';
import { ok } from '../helpers/applications.ts';
import { useWorld } from '../helpers/setup.ts';
import { type Receiver, startReceiver } from './receiver.ts';

/**
 * Webhooks go to public addresses only, with the default configuration: every spelling of a refused
 * address is refused at registration, and an address refused at delivery is never connected to.
 * No traffic leaves loopback: public addresses are only registered, never delivered to.
 */

const { t, w } = useWorld();
let receiver: Receiver;
beforeAll(async () => {
  receiver = await startReceiver({ status: 204 });
});
afterAll(async () => {
  await receiver.close();
});

const LOOPBACK = /127\.0\.0\.1 is a loopback address/;

describe('registration', () => {
  it('is refused for private targets unless a setting says otherwise, which is off by default', () => {
    expect(loadConfig({}).webhooks.allowPrivateTargets).toBe(false);
    expect(t.config.webhooks.allowPrivateTargets).toBe(false);
    expect(loadConfig({ WEBHOOK_ALLOW_PRIVATE_TARGETS: '1' }).webhooks.allowPrivateTargets).toBe(true);
  });

  it.each([
    ['decimal', 'http://2130706433/hook', LOOPBACK],
    ['hex', 'http://0x7f.1/hook', LOOPBACK],
    ['one hex number', 'http://0x7f000001/hook', LOOPBACK],
    ['octal', 'http://0177.0.0.1/hook', LOOPBACK],
    ['one octal number', 'http://017700000001/hook', LOOPBACK],
    ['short form', 'http://127.1/hook', LOOPBACK],
    ['trailing dot', 'http://127.0.0.1./hook', LOOPBACK],
    ['another loopback address', 'https://127.53.0.1:8443/hook', /127\.53\.0\.1 is a loopback address/],
    ['IPv6 loopback', 'http://[::1]/hook', /::1 is a loopback address/],
    ['IPv4-mapped IPv6, dotted', 'http://[::ffff:127.0.0.1]/hook', /::ffff:7f00:1 is a loopback address/],
    ['IPv4-mapped IPv6, hex', 'http://[::ffff:7f00:1]/hook', /::ffff:7f00:1 is a loopback address/],
    ['IPv4-mapped IPv6, long', 'http://[0:0:0:0:0:ffff:7f00:1]/hook', /loopback address/],
    ['localhost', 'http://localhost:8080/hook', /localhost resolves to .* loopback address/],
    ['localhost, trailing dot', 'http://localhost./hook', /localhost resolves to .* loopback address/],
    ['LOCALHOST', 'http://LOCALHOST/hook', /localhost resolves to .* loopback address/],
    ['localhost, percent-encoded', 'http://%6c%6fcalhost/hook', /localhost resolves to .* loopback/],
    ['localhost, look-alike letters', 'http://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/hook', /localhost resolves to .* loopback/],
    ['10/8', 'http://10.0.0.1/hook', /10\.0\.0\.1 is a private network address/],
    ['172.16/12', 'http://172.31.255.254/hook', /172\.31\.255\.254 is a private network address/],
    ['192.168/16', 'https://192.168.1.10/hook', /192\.168\.1\.10 is a private network address/],
    ['192.168/16, decimal', 'http://3232235777/hook', /192\.168\.1\.1 is a private network address/],
    ['CGNAT', 'http://100.64.0.1/hook', /100\.64\.0\.1 is a shared \(carrier-grade NAT\) address/],
    ['link-local', 'http://169.254.1.1/hook', /169\.254\.1\.1 is a link-local address/],
    ['IPv6 link-local', 'http://[fe80::1]/hook', /fe80::1 is a link-local address/],
    ['unique-local', 'http://[fc00::1]/hook', /fc00::1 is a unique-local address/],
    ['unique-local fd', 'http://[fd12:3456::1]/hook', /is a unique-local address/],
    [
      'metadata',
      'http://169.254.169.254/latest/meta-data/',
      /169\.254\.169\.254 is a cloud metadata address/,
    ],
    ['metadata, decimal', 'http://2852039166/latest/', /169\.254\.169\.254 is a cloud metadata address/],
    ['metadata, IPv4-mapped', 'http://[::ffff:169.254.169.254]/', /is a cloud metadata address/],
    ['metadata, IPv6', 'http://[fd00:ec2::254]/latest/', /fd00:ec2::254 is a cloud metadata address/],
    ['metadata, by name', 'http://metadata.google.internal/computeMetadata/v1/', /cloud metadata service/],
    ['metadata, name with dot', 'http://metadata.google.internal./', /cloud metadata service/],
    ['multicast', 'http://224.0.0.1/hook', /224\.0\.0\.1 is a multicast address/],
    ['IPv6 multicast', 'http://[ff02::1]/hook', /ff02::1 is a multicast address/],
    ['unspecified', 'http://0.0.0.0/hook', /0\.0\.0\.0 is the unspecified address/],
    ['unspecified, short', 'http://0/hook', /0\.0\.0\.0 is the unspecified address/],
    ['IPv6 unspecified', 'http://[::]/hook', /:: is the unspecified address/],
    ['broadcast', 'http://255.255.255.255/hook', /255\.255\.255\.255 is the broadcast address/],
    ['IPv4-compatible IPv6', 'http://[::127.0.0.1]/hook', /is a reserved or special-purpose address/],
    ['NAT64', 'http://[64:ff9b::7f00:1]/hook', /is a reserved or special-purpose address/],
    ['6to4', 'http://[2002:7f00:1::1]/hook', /is a reserved or special-purpose address/],
    ['documentation', 'http://192.0.2.10/hook', /is a reserved or special-purpose address/],
    ['user and password', 'http://user:secret@93.184.216.34/hook', /must not carry a user name or password/],
    ['a user name alone', 'https://hooks@93.184.216.34/hook', /must not carry a user name or password/],
    [
      'a name that does not resolve',
      'http://no-such-host.invalid/hook',
      /no-such-host\.invalid does not resolve/,
    ],
  ])('is refused for %s: %s', async (_what, url, why) => {
    const res = await w.admin.api.post('/webhooks', { url, eventTypes: ['*'] });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation-failed');
    expect(res.body.errors).toEqual([{ path: 'body.url', message: expect.stringMatching(why) }]);
    expect(res.body.detail).toMatch(why);
  });

  it.each([
    'ftp://93.184.216.34/hook',
    'file:///etc/passwd',
    'gopher://93.184.216.34:70/',
    'javascript:alert(1)',
  ])('is refused for a URL that is not http(s): %s', async (url) => {
    const res = await w.admin.api.post('/webhooks', { url, eventTypes: ['*'] });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual(['body.url']);
  });

  it('is refused for a lead too, and stores nothing refused', async () => {
    const res = await w.leadA.api.post('/webhooks', {
      url: 'http://0x7f.1/hook',
      eventTypes: ['*'],
      areaId: w.areaA,
    });
    expect(res.status).toBe(400);
    expect(ok(await w.admin.api.get('/webhooks')).items).toEqual([]);
  });

  it('accepts a public address (registration only: nothing is ever sent to it here)', async () => {
    for (const [url, stored] of [
      ['http://93.184.216.34/hook', 'http://93.184.216.34/hook'],
      ['https://93.184.216.34:8443/a/b?c=d', 'https://93.184.216.34:8443/a/b?c=d'],
      [
        'http://[2606:2800:220:1:248:1893:25c8:1946]/hook',
        'http://[2606:2800:220:1:248:1893:25c8:1946]/hook',
      ],
      // Stored as the parser normalises it: what was checked is what is used.
      ['HTTP://93.184.216.34./Hook', 'http://93.184.216.34/Hook'],
    ]) {
      // Subscribed to award events of area B only, and deleted at once: no delivery can be made.
      const created = ok(
        await w.admin.api.post('/webhooks', { url, eventTypes: ['award.AWARDED'], areaId: w.areaB }),
        201,
      );
      expect(created.url).toBe(stored);
      expect((await w.admin.api.delete(`/webhooks/${created.id}`)).status).toBe(204);
    }
    expect(ok(await w.admin.api.get('/webhooks')).items).toEqual([]);
  });
});

describe('a name is judged by every address it resolves to', () => {
  const resolvingTo =
    (...addresses: string[]) =>
    async () =>
      addresses.map((address) => ({ address }));
  const off = { allowPrivateTargets: false };
  const on = { allowPrivateTargets: true };

  it('refuses a name when any of its addresses is refused', async () => {
    expect(await checkWebhookUrl('https://hooks.example.org/x', off, resolvingTo('93.184.216.34'))).toEqual({
      url: 'https://hooks.example.org/x',
    });
    expect(
      await checkWebhookUrl('https://hooks.example.org/x', off, resolvingTo('93.184.216.34', '10.1.2.3')),
    ).toEqual({
      refused:
        'hooks.example.org resolves to 10.1.2.3, a private network address; webhooks go to public addresses only',
    });
    expect(await checkWebhookUrl('https://rebind.example.org/', off, resolvingTo('::ffff:7f00:1'))).toEqual({
      refused: expect.stringContaining(', a loopback address'),
    });
    expect(await checkWebhookUrl('https://gone.example.org/', off, resolvingTo())).toEqual({
      refused: 'the host name gone.example.org does not resolve',
    });
    const failing = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    };
    expect(await checkWebhookUrl('https://gone.example.org/', off, failing)).toEqual({
      refused: 'the host name gone.example.org does not resolve',
    });
  });

  it('with private targets allowed, still refuses link-local, metadata, multicast and unspecified', async () => {
    for (const address of [
      '127.0.0.1',
      '::1',
      '10.0.0.8',
      '172.20.0.2',
      '192.168.0.9',
      '100.64.1.1',
      'fd12::8',
    ]) {
      expect(await checkWebhookUrl('http://receiver.test/', on, resolvingTo(address))).toEqual({
        url: 'http://receiver.test/',
      });
    }
    for (const address of ['169.254.169.254', 'fd00:ec2::254', '100.100.100.200', '169.254.3.4', 'fe80::2']) {
      expect(await checkWebhookUrl('http://receiver.test/', on, resolvingTo(address))).toEqual({
        refused: expect.stringMatching(/metadata|link-local/),
      });
    }
    for (const address of ['224.0.0.251', 'ff02::fb', '0.0.0.0', '::', '255.255.255.255']) {
      expect(await checkWebhookUrl('http://receiver.test/', on, resolvingTo(address))).toEqual({
        refused: expect.stringMatching(/multicast|unspecified|broadcast/),
      });
    }
    expect(
      await checkWebhookUrl('http://metadata.google.internal/', on, resolvingTo('93.184.216.34')),
    ).toEqual({
      refused: 'metadata.google.internal names a cloud metadata service',
    });
  });
});

describe('delivery', () => {
  it('never connects to a refused address, however the URL got stored (the answer of DNS may change)', async () => {
    // Rows written straight through the repository, as if each URL had passed the check when it was
    // registered and its name resolved elsewhere now.
    const urls = [
      receiver.url,
      `http://localhost:${receiver.port}/hooks`,
      `http://[::ffff:127.0.0.1]:${receiver.port}/hooks`,
      `http://2130706433:${receiver.port}/hooks`,
    ];
    const subscriptions = [];
    for (const url of urls) {
      subscriptions.push(
        await insertSubscription(t.database.db, {
          url,
          event_types: ['application.SUBMIT'],
          area_id: w.areaA,
          secret: 'whsec_test',
          description: null,
          created_by: w.admin.id,
        }),
      );
    }
    const now = new Date();
    expect(
      await enqueueWebhookEvent(t.database.db, {
        type: 'application.SUBMIT',
        areaId: w.areaA,
        at: now,
        data: { entity: 'application' },
      }),
    ).toBe(urls.length);

    const summary = await deliverWebhooks(t.database.db, t.config, now);
    expect(summary).toEqual({ delivered: 0, retried: urls.length, failed: 0 });
    expect(receiver.received).toEqual([]);

    for (const subscription of subscriptions) {
      const [delivery] = ok(await w.admin.api.get(`/webhooks/${subscription.id}/deliveries`)).items;
      expect(delivery).toMatchObject({
        status: 'pending',
        attempts: 1,
        lastStatusCode: null,
        lastError: expect.stringMatching(/^Refused: .*loopback address/),
      });
    }
  });
});
