/** The worker's address variables, and the webhook receiver's own server (no Temporal needed for what is checked). */
import type { AddressInfo } from 'node:net';
import { metricsAddress, webhooksAddress } from '../../worker';
import { createWebhookReceiver } from '../../src/webhooks/receiver';
import { closeWebhooks, listenWebhooks } from '../../src/webhooks/server';

test('ANYBATCH_METRICS_ADDRESS and ANYBATCH_WEBHOOKS_ADDRESS are host:port, or an error naming the variable', () => {
  expect(metricsAddress({})).toBeNull();
  expect(metricsAddress({ ANYBATCH_METRICS_ADDRESS: '0.0.0.0:9464' })).toBe('0.0.0.0:9464');
  expect(webhooksAddress({})).toBeNull();
  expect(webhooksAddress({ ANYBATCH_WEBHOOKS_ADDRESS: ' 127.0.0.1:8091 ' })).toEqual({ address: '127.0.0.1:8091', host: '127.0.0.1', port: 8091 });
  expect(webhooksAddress({ ANYBATCH_WEBHOOKS_ADDRESS: '[::1]:8091' })).toEqual({ address: '[::1]:8091', host: '::1', port: 8091 });
  for (const bad of ['8091', 'http://127.0.0.1:8091', '127.0.0.1:99999', 'host:port']) {
    expect(() => webhooksAddress({ ANYBATCH_WEBHOOKS_ADDRESS: bad })).toThrow(`ANYBATCH_WEBHOOKS_ADDRESS=${JSON.stringify(bad)} is not host:port`);
    expect(() => metricsAddress({ ANYBATCH_METRICS_ADDRESS: bad })).toThrow(`ANYBATCH_METRICS_ADDRESS=${JSON.stringify(bad)} is not host:port`);
  }
});

test("the receiver's server: its routes answer (503 without a signing secret, acting on nothing), any other path is a 404", async () => {
  const lines: string[] = [];
  const server = await listenWebhooks(createWebhookReceiver({ env: {}, log: (l) => lines.push(l) }), '127.0.0.1', 0);
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const route = await fetch(`${base}/webhooks/openai`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(route.status).toBe(503);
    expect(await route.json()).toEqual({ error: 'OPENAI_WEBHOOK_SECRET is not set on this receiver' });
    expect(lines).toEqual([expect.stringContaining('OPENAI_WEBHOOK_SECRET is not set')]);
    const gemini = await fetch(`${base}/webhooks/gemini`, { method: 'POST', body: '{}' });
    expect(gemini.status).toBe(503);
    expect(await gemini.json()).toEqual({ error: 'GEMINI_WEBHOOK_SECRET is not set on this receiver' });
    const other = await fetch(`${base}/webhooks/anthropic`, { method: 'POST', body: '{}' });
    expect(other.status).toBe(404);
    expect(await other.json()).toEqual({ error: 'no webhook route at /webhooks/anthropic: /webhooks/openai, /webhooks/gemini' });
  } finally {
    await closeWebhooks(server);
  }
  expect(server.listening).toBe(false);
});

test('a taken address is an error at listen, not a silent server', async () => {
  const first = await listenWebhooks(createWebhookReceiver({ env: {} }), '127.0.0.1', 0);
  try {
    await expect(listenWebhooks(createWebhookReceiver({ env: {} }), '127.0.0.1', (first.address() as AddressInfo).port)).rejects.toThrow(/EADDRINUSE/);
  } finally {
    await closeWebhooks(first);
  }
});
