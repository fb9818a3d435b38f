/** The outgoing webhook's pure parts: which addresses are internal, and the Standard Webhooks signature. */
import { Webhook } from 'standardwebhooks';
import { isInternalAddress, signature, webhookKey } from '../../src/activities/webhooks';

test('loopback, private, link-local, CGNAT, multicast and unique-local addresses are internal; public ones are not', () => {
  for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '::1', '::', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1']) {
    expect({ a, internal: isInternalAddress(a) }).toEqual({ a, internal: true });
  }
  for (const a of ['8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8']) expect({ a, internal: isInternalAddress(a) }).toEqual({ a, internal: false });
});

test('the signature is the one the Standard Webhooks library verifies; the secret is read as whsec_<base64>', () => {
  const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
  const key = webhookKey({ ANYBATCH_WEBHOOK_SECRET: secret });
  const body = JSON.stringify({ type: 'anybatch.batch.completed', data: { id: 'ab_1' } });
  const timestamp = Math.floor(Date.now() / 1000);
  const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(timestamp), 'webhook-signature': signature(key, 'msg_1', timestamp, body) };
  expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  expect(() => webhookKey({})).toThrow(/ANYBATCH_WEBHOOK_SECRET/);
  expect(() => webhookKey({ ANYBATCH_WEBHOOK_SECRET: 'whsec_c2hvcnQ=' })).toThrow(/at least 16 bytes/);
});
