/**
 * Issue 17, credentials: each case was first written as a failing reproduction against the code before the fix.
 * - A sealed apiKey is bound to its batch, provider and apiBase (AEAD associated data): copied into another batch's
 *   spec it is refused, and never reaches a provider.
 * - Sealing keys have ids: several keys can be configured (ANYBATCH_SECRET_KEYS), new values are sealed with the
 *   first, old ones open with theirs, and a worker without the right key names the id it needs. `v1:` values
 *   (sealed before key ids) still open. No error holds key material or the plaintext.
 * - The worker's own provider key goes only to the provider's own base URL or one in ANYBATCH_ALLOWED_API_BASES:
 *   refused at createBatch (client) and again on the worker before any call.
 * - `--api-key-file` on the CLI.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import * as api from '../../src/api';
import { createActivities } from '../../src/activities';
import { createOnlineActivities } from '../../src/activities/online';
import { main } from '../../src/cli/main';
import type { BatchSpec } from '../../src/contract/spec';
import type { OnlineBatchInput } from '../../src/online/messages';
import { keyId, seal, secretKeyFile, unseal } from '../../src/secrets';

// The CLI's createBatch, seen from the test: the real one unless a test replaces one call.
jest.mock('../../src/api', () => {
  const actual = jest.requireActual('../../src/api');
  return { ...actual, createBatch: jest.fn((...args: unknown[]) => actual.createBatch(...args)) };
});

const ENV = [
  'ANYBATCH_HOME',
  'ANYBATCH_SECRET_KEY',
  'ANYBATCH_SECRET_KEYS',
  'ANYBATCH_ALLOWED_API_BASES',
  'ANYBATCH_CONNECT_TIMEOUT',
  'OPENAI_API_KEY',
  'OPENAI_BASE_URL',
  'OPENAI_COMPATIBLE_API_KEY',
  'OPENAI_COMPATIBLE_BASE_URL',
] as const;
const saved: Record<string, string | undefined> = {};
let tmp: string;

const K1 = crypto.randomBytes(32);
const K2 = crypto.randomBytes(32);
const WORKER_KEY = 'sk-worker-own-Secret0123456789';
const CALLER_KEY = 'sk-caller-Secret-abcdef0123456789';

/** Every rendering of a key an error could leak. */
function material(...keys: Buffer[]): string[] {
  return keys.flatMap((k) => [k.toString('base64'), k.toString('hex'), k.toString('base64url')]);
}

function expectNoSecrets(message: string, ...secrets: string[]): void {
  for (const s of secrets) expect(message).not.toContain(s);
}

function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a throw');
}

beforeEach(() => {
  for (const k of ENV) saved[k] = process.env[k];
  for (const k of ENV) delete process.env[k];
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-sec-creds-'));
  // Never the developer's own ~/.anybatch: the default key file is under ANYBATCH_HOME when it is set.
  process.env.ANYBATCH_HOME = path.join(tmp, 'home');
});

afterEach(() => {
  for (const k of ENV) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

const A = { batchId: 'ab_batch_a', provider: 'openai', apiBase: null } as const;

describe('sealed credentials are bound to their batch, provider and apiBase', () => {
  test('a value sealed for batch A opens for A only', () => {
    const sealed = seal({ apiKey: CALLER_KEY }, A, K1);
    expect(sealed).toMatch(new RegExp(`^v2:${keyId(K1)}:[A-Za-z0-9+/]+=*$`));
    expect(sealed).not.toContain(CALLER_KEY);
    expect(unseal(sealed, A, [K1])).toEqual({ apiKey: CALLER_KEY });
    for (const other of [
      { ...A, batchId: 'ab_batch_b' },
      { ...A, provider: 'anthropic' },
      { ...A, apiBase: 'http://127.0.0.1:9/v1' },
    ]) {
      const err = thrown(() => unseal(sealed, other, [K1]));
      expect(err.code).toBe('bad_credentials');
      expect(err.message).toMatch(/these credentials were sealed for another batch/);
      expectNoSecrets(err.message, CALLER_KEY, ...material(K1));
    }
    // The apiBase is bound as given: a value sealed for one base does not open for the default, nor the reverse.
    const based = seal({ apiKey: CALLER_KEY }, { ...A, apiBase: 'http://127.0.0.1:9/v1' }, K1);
    expect(() => unseal(based, A, [K1])).toThrow(/sealed for another batch/);
  });

  test('the key id is a short fingerprint, never the key', () => {
    expect(keyId(K1)).toMatch(/^[0-9a-f]{8}$/);
    expect(keyId(K1)).toBe(keyId(Buffer.from(K1)));
    expect(keyId(K1)).not.toBe(keyId(K2));
    for (const m of material(K1)) expect(m).not.toContain(keyId(K1));
  });
});

describe('key rotation: ANYBATCH_SECRET_KEYS', () => {
  test('sealed with K1; a worker with K2,K1 opens it, and seals new values with K2', () => {
    process.env.ANYBATCH_SECRET_KEYS = K1.toString('base64');
    const sealed = seal({ apiKey: CALLER_KEY }, A);
    expect(sealed.startsWith(`v2:${keyId(K1)}:`)).toBe(true);

    process.env.ANYBATCH_SECRET_KEYS = `${K2.toString('hex')}, ${K1.toString('base64')}`;
    expect(unseal(sealed, A)).toEqual({ apiKey: CALLER_KEY });
    expect(seal({ apiKey: CALLER_KEY }, A).startsWith(`v2:${keyId(K2)}:`)).toBe(true);
  });

  test('ANYBATCH_SECRET_KEY (one key) still works, and opens values beside ANYBATCH_SECRET_KEYS', () => {
    process.env.ANYBATCH_SECRET_KEY = K1.toString('base64');
    const sealed = seal({ apiKey: CALLER_KEY }, A);
    expect(sealed.startsWith(`v2:${keyId(K1)}:`)).toBe(true);
    process.env.ANYBATCH_SECRET_KEYS = K2.toString('base64');
    expect(unseal(sealed, A)).toEqual({ apiKey: CALLER_KEY });
    expect(seal({ apiKey: CALLER_KEY }, A).startsWith(`v2:${keyId(K2)}:`)).toBe(true);
  });

  test('a worker without K1 names the key id it needs, and no key material or plaintext', () => {
    const sealed = seal({ apiKey: CALLER_KEY, clientArgs: { organization: 'org-secret-xyz' } }, A, K1);
    process.env.ANYBATCH_SECRET_KEYS = K2.toString('base64');
    const err = thrown(() => unseal(sealed, A));
    expect(err.code).toBe('bad_credentials');
    expect(err.message).toContain(`sealed with key id ${keyId(K1)}, which this worker does not have: add it to ANYBATCH_SECRET_KEYS`);
    expectNoSecrets(err.message, CALLER_KEY, 'org-secret-xyz', ...material(K1, K2));
  });

  test('a malformed key names its variable, not its value', () => {
    process.env.ANYBATCH_SECRET_KEYS = `${K1.toString('base64')},c2hvcnQ=`;
    const err = thrown(() => seal({ apiKey: CALLER_KEY }, A));
    expect(err.message).toMatch(/ANYBATCH_SECRET_KEYS.*32 bytes/);
    expectNoSecrets(err.message, 'c2hvcnQ=', ...material(K1));
  });

  test('the default key file is per user, not per working directory (ANYBATCH_HOME wins when set)', () => {
    const elsewhere = process.cwd();
    try {
      expect(secretKeyFile({})).toBe(path.join(os.homedir(), '.anybatch', 'secret.key'));
      process.chdir(tmp);
      expect(secretKeyFile({})).toBe(path.join(os.homedir(), '.anybatch', 'secret.key'));
    } finally {
      process.chdir(elsewhere);
    }
    expect(secretKeyFile({ ANYBATCH_HOME: '/srv/ab' })).toBe(path.join('/srv/ab', 'secret.key'));
  });

  test('without any variable the key file is stable (ANYBATCH_HOME when set) and used for both', () => {
    const sealed = seal({ apiKey: CALLER_KEY }, A);
    const file = path.join(process.env.ANYBATCH_HOME!, 'secret.key');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(unseal(sealed, A)).toEqual({ apiKey: CALLER_KEY });
  });
});

describe('v1 values (sealed before key ids and binding) still open', () => {
  // Made by the code before this change: seal({ apiKey, clientArgs }, Buffer.alloc(32, 7)).
  const V1 =
    'v1:5dAsuqztwN44ACGRT5FBU+dbKdiV5iS7sqCEDykIy5ReIXxibilf1kzHyNb0GNomGcNNNj0fg06mNxQdaqBwbrPvREUztwvjGvb/fRNHNEZnD740SEbzi783ErsOPwkSX3NwW88wui3lMCc=';
  const V1_KEY = Buffer.alloc(32, 7);
  const V1_CREDS = { apiKey: 'sk-legacy-v1-0123456789', clientArgs: { organization: 'org-legacy' } };

  test('with any configured key that fits (each is tried)', () => {
    expect(unseal(V1, A, [K2, V1_KEY])).toEqual(V1_CREDS);
    process.env.ANYBATCH_SECRET_KEYS = `${K1.toString('base64')},${V1_KEY.toString('base64')}`;
    expect(unseal(V1, { batchId: 'any', provider: 'openai', apiBase: null })).toEqual(V1_CREDS);
    process.env.ANYBATCH_SECRET_KEYS = K1.toString('base64');
    const err = thrown(() => unseal(V1, A));
    expect(err.code).toBe('bad_credentials');
    expect(err.message).toMatch(/ANYBATCH_SECRET_KEY/);
    expectNoSecrets(err.message, V1_CREDS.apiKey, ...material(K1, V1_KEY));
  });
});

describe('allowed base URLs', () => {
  test.each([
    ['http://127.0.0.1:8080/v1', 'http://127.0.0.1:8080/v1', true],
    ['http://127.0.0.1:8080/v1', 'http://127.0.0.1:8080/v1/', true],
    ['http://127.0.0.1:8080/v1', 'http://127.0.0.1:8080/v1/x', true],
    ['http://127.0.0.1:8080/v1/', 'http://127.0.0.1:8080/v1', true],
    ['http://127.0.0.1:8080/v1', 'HTTP://127.0.0.1:8080/v1', true],
    ['http://LOCALHOST:8080/v1', 'http://localhost:8080/v1/x', true],
    ['https://api.openai.com/v1', 'https://api.openai.com:443/v1', true],
    ['http://127.0.0.1:8080', 'http://127.0.0.1:8080/anything', true],
    ['http://127.0.0.1:8080/v1', 'http://127.0.0.1:8080/v1/../v1/x', true],
    ['http://127.0.0.1:8080/v1', 'http://127.0.0.1:8080/v10', false],
    ['http://127.0.0.1:8080/v1', 'http://127.0.0.1:80800', false],
    ['http://127.0.0.1:8080/v1', 'http://127.0.0.1:8080', false],
    ['http://127.0.0.1:8080/v1', 'http://127.0.0.1:8081/v1', false],
    ['http://127.0.0.1:8080/v1', 'https://127.0.0.1:8080/v1', false],
    ['http://127.0.0.1:8080/v1', 'http://127.0.0.1.evil.example:8080/v1', false],
    ['http://127.0.0.1:8080/v1', 'http://127.0.0.1:8080/v1/../v10', false],
    ['http://127.0.0.1:8080/v1', 'http://127.0.0.1:8080/V1', false],
    ['http://127.0.0.1:8080/v1', 'not a url', false],
    ['http://127.0.0.1:8080/v1', 'ftp://127.0.0.1:8080/v1', false],
  ])('%s allows %s: %s', async (prefix, candidate, allowed) => {
    const { baseAllows } = await import('../../src/providers/allowed-bases');
    expect(baseAllows(prefix, candidate)).toBe(allowed);
  });

  test("no apiKey: only null, the provider's own base URL, the worker's base URL variable or an allowed base", async () => {
    const { apiBaseRefusal } = await import('../../src/providers/allowed-bases');
    expect(apiBaseRefusal('openai', null, false, {})).toBeNull();
    expect(apiBaseRefusal('openai', 'https://api.openai.com/v1', false, {})).toBeNull();
    expect(apiBaseRefusal('anthropic', 'https://api.anthropic.com', false, {})).toBeNull();
    expect(apiBaseRefusal('openai', 'https://proxy.example/v1', false, { OPENAI_BASE_URL: 'https://proxy.example/v1' })).toBeNull();
    expect(apiBaseRefusal('openai', 'http://127.0.0.1:8080/v1', false, { ANYBATCH_ALLOWED_API_BASES: 'https://x.example, http://127.0.0.1:8080/v1' })).toBeNull();
    expect(apiBaseRefusal('openai', 'http://evil.example/v1', true, {})).toBeNull(); // the caller's own key
    const refusal = apiBaseRefusal('openai', 'http://evil.example/v1', false, { ANYBATCH_ALLOWED_API_BASES: 'http://127.0.0.1:8080/v1' });
    expect(refusal).toContain('http://evil.example/v1');
    expect(refusal).toContain('ANYBATCH_ALLOWED_API_BASES');
    expect(refusal).toMatch(/apiKey/);
    // Another provider's default is not this one's.
    expect(apiBaseRefusal('openai', 'https://api.anthropic.com', false, {})).not.toBeNull();
    // Azure has no default: its endpoint variable, or the list.
    expect(apiBaseRefusal('azureopenai', 'https://r.openai.azure.com/openai/v1', false, {})).not.toBeNull();
    expect(apiBaseRefusal('azureopenai', 'https://r.openai.azure.com/openai/v1', false, { AZURE_OPENAI_ENDPOINT: 'https://r.openai.azure.com' })).toBeNull();
  });
});

/** A fake provider on loopback that records what reaches it. */
async function recorder(): Promise<{ base: string; seen: { url: string; authorization: string | undefined }[]; close: () => Promise<void> }> {
  const seen: { url: string; authorization: string | undefined }[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', authorization: req.headers.authorization });
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'no such batch', type: 'invalid_request_error' } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}/v1`, seen, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function specOf(batchId: string, apiBase: string | null, sealed: string | null, provider = 'openai'): BatchSpec {
  return {
    batchId,
    provider,
    endpoint: '/v1/chat/completions',
    completionWindow: '24h',
    metadata: null,
    createdAt: Math.floor(Date.now() / 1000),
    input: { path: path.join(tmp, 'none.jsonl'), requestCount: 1, bytes: 10, model: null },
    resultsDir: path.join(tmp, 'results'),
    pollIntervalMs: 1000,
    connection: { apiBase, sealed },
    maxRequestsPerPart: null,
    providerOptions: {},
    searchAttributes: false,
  } as BatchSpec;
}

async function failureOf(run: () => Promise<unknown>): Promise<ApplicationFailure> {
  const err = await run().then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe('the worker refuses before any provider call', () => {
  const env = () => new MockActivityEnvironment({ scheduledTimestampMs: Date.now() } as never, { logger: new DefaultLogger('ERROR') });

  test('a foreign apiBase with no apiKey of its own: non-retryable, named, and nothing sent', async () => {
    process.env.OPENAI_API_KEY = WORKER_KEY;
    const server = await recorder();
    try {
      const acts = createActivities({ home: path.join(tmp, 'worker') });
      const spec = specOf('ab_foreign', server.base, null);
      const failure = await failureOf(() => env().run(acts.retrieveProviderBatch, spec, 'batch_1'));
      expect(failure.type).toBe('api_base_not_allowed');
      expect(failure.nonRetryable).toBe(true);
      expect(failure.message).toContain(server.base);
      expect(failure.message).toContain('ANYBATCH_ALLOWED_API_BASES');
      expectNoSecrets(failure.message, WORKER_KEY);
      expect(server.seen).toEqual([]);

      // The online path (openai-compatible) refuses the same way, before it reads anything.
      process.env.OPENAI_COMPATIBLE_API_KEY = WORKER_KEY;
      const online = { spec: specOf('ab_foreign_online', server.base, null, 'openai-compatible'), part: { index: 0 }, createdAt: 0, metadata: null } as unknown as OnlineBatchInput;
      const { runOnlineRequests } = createOnlineActivities({ home: path.join(tmp, 'worker') });
      const refused = await failureOf(() => env().run(runOnlineRequests, online));
      expect(refused.type).toBe('api_base_not_allowed');
      expect(refused.nonRetryable).toBe(true);
      expect(server.seen).toEqual([]);

      // Allowed by the operator: the same call goes out, with the worker's key.
      process.env.ANYBATCH_ALLOWED_API_BASES = server.base;
      await env().run(acts.retrieveProviderBatch, spec, 'batch_1').catch(() => undefined);
      expect(server.seen.map((s) => s.authorization)).toContain(`Bearer ${WORKER_KEY}`);
    } finally {
      await server.close();
    }
  });

  test("the batch's own apiKey may go anywhere", async () => {
    process.env.OPENAI_API_KEY = WORKER_KEY;
    process.env.ANYBATCH_SECRET_KEYS = K1.toString('base64');
    const server = await recorder();
    try {
      const acts = createActivities({ home: path.join(tmp, 'worker') });
      const spec = specOf('ab_own_key', server.base, null);
      spec.connection.sealed = seal({ apiKey: CALLER_KEY }, { batchId: spec.batchId, provider: spec.provider, apiBase: spec.connection.apiBase });
      await env().run(acts.retrieveProviderBatch, spec, 'batch_1').catch(() => undefined);
      expect(server.seen.map((s) => s.authorization)).toEqual([`Bearer ${CALLER_KEY}`]);
    } finally {
      await server.close();
    }
  });

  test("batch A's sealed apiKey copied into batch B's spec is refused, and sent nowhere", async () => {
    process.env.ANYBATCH_SECRET_KEYS = K1.toString('base64');
    const server = await recorder();
    try {
      const acts = createActivities({ home: path.join(tmp, 'worker') });
      const sealedForA = seal({ apiKey: CALLER_KEY }, { batchId: 'ab_victim', provider: 'openai', apiBase: server.base });
      const failure = await failureOf(() => env().run(acts.retrieveProviderBatch, specOf('ab_thief', server.base, sealedForA), 'batch_1'));
      expect(failure.type).toBe('bad_credentials');
      expect(failure.nonRetryable).toBe(true);
      expect(failure.message).toMatch(/sealed for another batch/);
      expectNoSecrets(failure.message, CALLER_KEY, ...material(K1));
      expect(server.seen).toEqual([]);
    } finally {
      await server.close();
    }
  });
});

describe('createBatch and the CLI', () => {
  function input(): string {
    const file = path.join(tmp, 'in.jsonl');
    const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };
    fs.writeFileSync(file, JSON.stringify({ custom_id: 'r1', method: 'POST', url: '/v1/chat/completions', body }) + '\n');
    return file;
  }
  // Nothing listens there: a call that got past the checks would fail to connect, never start a batch.
  const nowhere = { temporal: { address: '127.0.0.1:1', connectTimeoutMs: 300 }, taskQueue: 'security-test-never' };

  test('createBatch with a foreign apiBase and no apiKey is a UsageError naming it, before anything is staged', async () => {
    process.env.OPENAI_API_KEY = WORKER_KEY;
    const err = await api.createBatch('openai', input(), '/v1/chat/completions', { ...nowhere, apiBase: 'http://evil.example/v1' }).catch((e: unknown) => e as Error);
    expect((err as Error).name).toBe('UsageError');
    expect((err as Error).message).toContain('http://evil.example/v1');
    expect((err as Error).message).toContain('ANYBATCH_ALLOWED_API_BASES');
    expect((err as Error).message).toMatch(/apiKey/);
    expect(fs.existsSync(path.join(process.env.ANYBATCH_HOME!, 'inputs'))).toBe(false);
  });

  async function cli(args: string[]): Promise<{ code: number; stderr: string }> {
    let stderr = '';
    const write = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
    try {
      const code = await main(args);
      return { code, stderr };
    } finally {
      write.mockRestore();
    }
  }
  const create = (...more: string[]) => ['create', input(), '--provider', 'openai', '--endpoint', '/v1/chat/completions', '--address', '127.0.0.1:1', ...more];

  test('--api-key-file: a missing or empty file is a usage error naming the file', async () => {
    const missing = path.join(tmp, 'no-such.key');
    const run = await cli(create('--api-key-file', missing));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(missing);
    const empty = path.join(tmp, 'empty.key');
    fs.writeFileSync(empty, '  \n');
    const run2 = await cli(create('--api-key-file', empty));
    expect(run2.code).toBe(2);
    expect(run2.stderr).toContain(empty);
    expect(run2.stderr).toMatch(/empty/);
    const both = await cli(create('--api-key-file', empty, '--api-key', 'x'));
    expect(both.code).toBe(2);
  });

  test('--api-key-file: the key is read from the file, trimmed, and never echoed', async () => {
    const file = path.join(tmp, 'provider.key');
    fs.writeFileSync(file, `  ${CALLER_KEY}\n`, { mode: 0o600 });
    const createBatch = api.createBatch as unknown as jest.Mock;
    let seen: { apiKey?: string; apiBase?: string } | undefined;
    createBatch.mockImplementationOnce(async (_p: unknown, _f: unknown, _e: unknown, o: { apiKey?: string; apiBase?: string }) => {
      seen = o;
      throw new Error('stopped by the test');
    });
    const run = await cli(create('--api-key-file', file, '--api-base', 'http://127.0.0.1:9/v1'));
    expect(run.code).toBe(1);
    expect(seen?.apiKey).toBe(CALLER_KEY);
    expect(seen?.apiBase).toBe('http://127.0.0.1:9/v1');
    expectNoSecrets(run.stderr, CALLER_KEY);
  });

  test('the CLI refuses a foreign --api-base without a key of its own, saying what to do', async () => {
    process.env.OPENAI_API_KEY = WORKER_KEY;
    const run = await cli(create('--api-base', 'http://evil.example/v1'));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('http://evil.example/v1');
    expect(run.stderr).toMatch(/--api-key-file|apiKey/);
    expect(run.stderr).toContain('ANYBATCH_ALLOWED_API_BASES');
  });

  test('--api-key help warns that argv is visible in ps', () => {
    const { buildProgram } = jest.requireActual('../../src/cli/main') as typeof import('../../src/cli/main');
    const help = buildProgram().commands.find((c) => c.name() === 'create')!.helpInformation();
    const flat = help.replace(/\s+/g, ' ');
    expect(flat).toMatch(/--api-key <key> [^]*?Visible to other users in ps: prefer --api-key-file/);
    expect(flat).toContain('--api-key-file <path>');
  });
});
