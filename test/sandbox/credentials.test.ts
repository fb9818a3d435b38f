/**
 * The sandbox records the credentials each provider module last received (`stats().lastCredentials`), as sent, so a
 * test can tell which key reached a provider: a bearer token, Anthropic's `x-api-key`, Azure's `api-key`, Google's
 * `x-goog-api-key` or `?key=`, each under the module whose path it came through.
 */
import OpenAI from 'openai';
import { startSandbox, type Sandbox, type SandboxStats } from '../../src/sandbox';

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox({ validationMs: 10, finalizingMs: 10, cancellingMs: 10 });
});
afterAll(() => sandbox.close());

test('each module keeps the credentials of the last request under its path, as sent, and only those present', async () => {
  expect(sandbox.stats().lastCredentials).toEqual({});

  await new OpenAI({ baseURL: sandbox.baseUrls.openai, apiKey: 'sk-openai-first', maxRetries: 0 }).batches.list();
  await new OpenAI({ baseURL: sandbox.baseUrls.openai, apiKey: 'sk-openai-second', maxRetries: 0 }).files.list();
  await fetch(`${sandbox.baseUrls.anthropic}/v1/messages/batches`, { headers: { 'x-api-key': 'sk-ant-key', 'anthropic-version': '2023-06-01' } });
  await fetch(`${sandbox.baseUrls.azureopenai}/openai/v1/batches`, { headers: { 'api-key': 'azure-key' } });
  await fetch(`${sandbox.baseUrls.gemini}/v1beta/batches?key=gemini-key`);

  const seen = sandbox.stats().lastCredentials;
  expect(seen.openai).toEqual({ authorization: 'Bearer sk-openai-second' });
  expect(seen.anthropic).toEqual({ 'x-api-key': 'sk-ant-key' });
  expect(seen.azureopenai).toEqual({ 'api-key': 'azure-key' });
  expect(seen.gemini).toEqual({ key: 'gemini-key' });
  expect(Object.keys(seen).sort()).toEqual(['anthropic', 'azureopenai', 'gemini', 'openai']);
});

test('the prefix-less alias counts as its module; a request with no credentials (refused) leaves the record as it was', async () => {
  await fetch(`${sandbox.url}/v1/batches`, { headers: { authorization: 'Bearer sk-through-the-alias' } });
  expect(sandbox.stats().lastCredentials.openai).toEqual({ authorization: 'Bearer sk-through-the-alias' });
  const refused = await fetch(`${sandbox.baseUrls.openai}/batches`);
  expect(refused.status).toBe(401);
  expect(sandbox.stats().lastCredentials.openai).toEqual({ authorization: 'Bearer sk-through-the-alias' });
  // A refused key is recorded too: it reached the provider.
  const wrong = await startSandbox({ apiKey: 'the-only-key' });
  try {
    expect((await fetch(`${wrong.baseUrls.openai}/batches`, { headers: { authorization: 'Bearer not-the-key' } })).status).toBe(401);
    expect(wrong.stats().lastCredentials).toEqual({ openai: { authorization: 'Bearer not-the-key' } });
  } finally {
    await wrong.close();
  }
});

test('GET /_sandbox/stats carries them; the control routes record nothing', async () => {
  const before = sandbox.stats().lastCredentials;
  const stats = (await (await fetch(`${sandbox.url}/_sandbox/stats`, { headers: { authorization: 'Bearer sk-control-route' } })).json()) as SandboxStats;
  expect(stats.lastCredentials).toEqual(before);
  expect(sandbox.stats().lastCredentials).toEqual(before);
});
