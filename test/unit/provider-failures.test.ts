/**
 * Real provider failures on loopback, through the real SDK clients configured as the adapters configure them:
 * each is classified (kind, retryable), carries the URL without its query string, and says in one line what
 * failed, where, why and what to do next, never with the API key in it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { anthropic as anthropicProvider } from '../../src/providers/anthropic';
import { anthropicCalls } from '../../src/providers/anthropic/errors';
import { providerInfo } from '../../src/providers/definition';
import { openai as openaiProvider } from '../../src/providers/openai';
import { openAICalls } from '../../src/providers/openai/errors';
import { SdkClients } from '../../src/providers/sdk-clients';
import { createStreamingFetch, FetchFailure } from '../../src/providers/streaming-fetch';
import { ProviderError, preparedFile, type ProviderConnection, type ProviderErrorKind } from '../../src/providers/types';
import { startSandbox, type Sandbox } from '../../src/sandbox';

const KEY = 'sk-test-Secret0123456789abcdef';
const openai = openaiProvider.createAdapter();
const anthropic = anthropicProvider.createAdapter();
const OPENAI_PROVIDER = providerInfo(openaiProvider);
const { call } = openAICalls(OPENAI_PROVIDER);
const { toProviderError: anthropicError } = anthropicCalls(providerInfo(anthropicProvider));
const servers: Array<http.Server | net.Server> = [];
const sockets = new Set<net.Socket>();
let dir: string;

async function listen<S extends http.Server | net.Server>(server: S): Promise<number> {
  servers.push(server);
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

function conn(apiBase: string, clientArgs?: Record<string, unknown>): ProviderConnection {
  return { apiKey: KEY, apiBase, clientArgs };
}

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ProviderError);
    return err as ProviderError;
  }
  throw new Error('the call did not fail');
}

/** Kind, retryable, url, one line, and no secret or query string anywhere in the message. */
function check(err: ProviderError, kind: ProviderErrorKind, url: string | null): void {
  expect(err.kind).toBe(kind);
  expect(err.retryable).toBe(['transient', 'rate_limited', 'unreachable'].includes(kind));
  expect(err.url).toBe(url);
  expect(err.message).not.toMatch(/\n/);
  expect(err.message).not.toContain(KEY);
  expect(err.message).not.toContain('Secret0123');
  expect(err.message).not.toMatch(/\?\w+=/);
  expect(err.url ?? '').not.toContain('?');
}

// ---- an OpenAI-shaped API on loopback ----

interface Answer {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

const openaiError = (status: number, message: string, code: string | null, type = 'invalid_request_error'): Answer => ({
  status,
  body: JSON.stringify({ error: { message, type, param: null, code } }),
  headers: { 'content-type': 'application/json' },
});

/** Answers by the first path segment (`/<case>/v1/...`); list calls succeed empty so creates get reached. */
const CASES: Record<string, (req: http.IncomingMessage) => Answer> = {
  s401: () => openaiError(401, `Incorrect API key provided: ${KEY}. You can find your API key at https://platform.openai.com/account/api-keys.`, 'invalid_api_key'),
  s403: () => openaiError(403, 'You are not allowed to create batches with this key (missing scope api.batch.write).', 'permission_denied'),
  s404: () => openaiError(404, "No batch found with id 'batch_nope'.", null),
  model: (req) =>
    req.method === 'GET'
      ? { status: 200, body: JSON.stringify({ object: 'list', data: [], has_more: false, first_id: null, last_id: null }), headers: { 'content-type': 'application/json' } }
      : openaiError(404, 'The model `gpt-9-turbo` does not exist or you do not have access to it.', 'model_not_found'),
  html: () => ({ status: 404, body: '<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>', headers: { 'content-type': 'text/html' } }),
  s429: () => ({ ...openaiError(429, 'Rate limit reached for requests. Please try again later.', 'rate_limit_exceeded', 'requests'), headers: { 'content-type': 'application/json', 'retry-after': '3' } }),
  quota: () => openaiError(429, 'You exceeded your current quota, please check your plan and billing details.', 'insufficient_quota', 'insufficient_quota'),
  s500: () => ({ ...openaiError(500, 'The server had an error while processing your request. Sorry about that!', null, 'server_error'), headers: { 'content-type': 'application/json', 'x-request-id': 'req_abc123' } }),
  s400: () => openaiError(400, "Invalid value for 'completion_window': '48h'.", 'invalid_value'),
  // Anthropic's error shape
  a401: () => ({ status: 401, body: JSON.stringify({ type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } }), headers: { 'content-type': 'application/json' } }),
  a404: () => ({ status: 404, body: JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: 'No batch with id msgbatch_x.' } }), headers: { 'content-type': 'application/json' } }),
  a529: () => ({ status: 529, body: JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }), headers: { 'content-type': 'application/json' } }),
};

let api: string;
let sandbox: Sandbox;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-failures-'));
  const port = await listen(
    http.createServer((req, res) => {
      req.resume();
      const answer = CASES[(req.url ?? '').split('/')[1]]?.(req) ?? openaiError(500, 'no such case', null);
      res.writeHead(answer.status, answer.headers ?? {}).end(answer.body);
    }),
  );
  api = `http://127.0.0.1:${port}`;
  sandbox = await startSandbox({ apiKey: KEY });
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  await sandbox.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

// ---- no answer ----

test('a closed port: unreachable, with the URL (no query string) and where the base URL comes from', async () => {
  const port = await closedPort();
  const input = { path: path.join(dir, 'in.jsonl'), requestCount: 1, bytes: 10, idempotencyKey: 'k', notBefore: 0, endpoint: '/v1/chat/completions', options: {}, workDir: dir };
  const err = await failure(openai.prepareInput(conn(`http://127.0.0.1:${port}/v1`), input));
  check(err, 'unreachable', `http://127.0.0.1:${port}/v1/files`);
  expect(err.message).toBe(
    `list files: cannot connect to http://127.0.0.1:${port}/v1/files (connection refused, ECONNREFUSED). Is the provider's base URL right? (set by apiBase / --api-base, or OPENAI_BASE_URL on the worker)`,
  );
  expect(err.status).toBeNull();
});

test('a server that accepts and drops the connection: unreachable (socket hang up)', async () => {
  const port = await listen(net.createServer((socket) => socket.destroy()));
  const err = await failure(openai.retrieveBatch(conn(`http://127.0.0.1:${port}/v1`), 'batch_1'));
  check(err, 'unreachable', `http://127.0.0.1:${port}/v1/batches/batch_1`);
  expect(err.message).toMatch(/^retrieve batch: http:\/\/127\.0\.0\.1:\d+\/v1\/batches\/batch_1: the connection closed before an answer \((socket hang up|connection reset), ECONNRESET\)\. If this lasts, check the base URL/);
});

test("a server that never answers: unreachable after the client's timeout, with the URL", async () => {
  const port = await listen(http.createServer(() => undefined));
  const started = Date.now();
  const err = await failure(openai.retrieveBatch(conn(`http://127.0.0.1:${port}/v1`, { timeout: 300 }), 'batch_1'));
  expect(Date.now() - started).toBeLessThan(5_000);
  check(err, 'unreachable', `http://127.0.0.1:${port}/v1/batches/batch_1`);
  expect(err.message).toMatch(/^retrieve batch: no answer from http:\/\/127\.0\.0\.1:\d+\/v1\/batches\/batch_1 within 300 ms \(the client's timeout\)\..*raise clientArgs\.timeout/);
});

function fastClients(options: Parameters<typeof createStreamingFetch>[0]) {
  return new SdkClients(OPENAI_PROVIDER, (o) => new OpenAI(o), createStreamingFetch(options));
}

test('a TLS handshake that never completes is bounded by the connect timeout', async () => {
  const port = await listen(net.createServer(() => undefined)); // accepts TCP, never speaks TLS
  const client = fastClients({ connectTimeoutMs: 200 }).get(conn(`https://127.0.0.1:${port}/v1`));
  const started = Date.now();
  const err = await failure(call('retrieve batch', () => client.batches.retrieve('batch_1')));
  expect(Date.now() - started).toBeLessThan(3_000);
  check(err, 'unreachable', `https://127.0.0.1:${port}/v1/batches/batch_1`);
  expect(err.message).toMatch(/^retrieve batch: cannot connect to https:\/\/127\.0\.0\.1:\d+\/v1\/batches\/batch_1 \(no connection within 200 ms, ETIMEDOUT\)\. Is the host reachable/);
});

/** A listener whose accept queue is full, so a new connect hangs in SYN_SENT (python3: Node always accepts). */
function fullBacklog(): Promise<{ port: number; child: ChildProcess; filler: net.Socket } | null> {
  const script = "import socket,sys\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()";
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'ignore'] });
    } catch {
      return resolve(null);
    }
    child.once('error', () => resolve(null));
    child.stdout!.once('data', (data: Buffer) => {
      const port = Number(String(data).trim());
      const filler = net.connect(port, '127.0.0.1'); // takes the one queue slot
      filler.once('connect', () => resolve({ port, child, filler }));
      filler.once('error', () => resolve(null));
    });
  });
}

test('a socket that never connects fails after the connect timeout', async () => {
  const listener = await fullBacklog();
  if (!listener) throw new Error('this test needs python3 (a listener with a full accept queue): install it');
  try {
    const client = fastClients({ connectTimeoutMs: 300 }).get(conn(`http://127.0.0.1:${listener.port}/v1`));
    const started = Date.now();
    const err = await failure(call('create batch', () => client.batches.retrieve('batch_1')));
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(3_000);
    check(err, 'unreachable', `http://127.0.0.1:${listener.port}/v1/batches/batch_1`);
    expect(err.message).toContain('(no connection within 300 ms, ETIMEDOUT)');
    expect(err.message).toContain('OPENAI_BASE_URL');
  } finally {
    listener.filler.destroy();
    listener.child.kill();
  }
});

test('an unknown host (ENOTFOUND) is a bad endpoint; a DNS hiccup (EAI_AGAIN) is unreachable', async () => {
  // A custom lookup: no DNS query leaves the machine.
  const lookups: string[] = [];
  const failWith = (code: string): net.LookupFunction => (hostname, _options, callback) => {
    lookups.push(hostname);
    const err = Object.assign(new Error(`getaddrinfo ${code} ${hostname}`), { code, errno: -3008, syscall: 'getaddrinfo', hostname });
    process.nextTick(() => (callback as (e: Error) => void)(err));
  };
  const missing = fastClients({ lookup: failWith('ENOTFOUND') }).get(conn('https://api.openai.invalid/v1'));
  const err = await failure(call('create batch', () => missing.batches.create({ input_file_id: 'file_1', endpoint: '/v1/chat/completions', completion_window: '24h' })));
  check(err, 'bad_endpoint', 'https://api.openai.invalid/v1/batches');
  expect(err.message).toBe(
    'create batch: https://api.openai.invalid/v1/batches: unknown host "api.openai.invalid" (ENOTFOUND). Check the base URL (set by apiBase / --api-base, or OPENAI_BASE_URL on the worker).',
  );
  const flaky = fastClients({ lookup: failWith('EAI_AGAIN') }).get(conn('https://api.openai.invalid/v1'));
  const again = await failure(call('list batches', () => flaky.batches.list({ limit: 100 })));
  check(again, 'unreachable', 'https://api.openai.invalid/v1/batches');
  expect(again.message).toMatch(/^list batches: https:\/\/api\.openai\.invalid\/v1\/batches: DNS lookup of "api\.openai\.invalid" failed for now \(EAI_AGAIN\)\. Check the worker's DNS/);
  expect(lookups).toEqual(['api.openai.invalid', 'api.openai.invalid']);
});

// ---- TLS ----

function selfSignedCert(): { key: string; cert: string } | null {
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  } catch {
    return null;
  }
  return { key: fs.readFileSync(keyFile, 'utf8'), cert: fs.readFileSync(certFile, 'utf8') };
}

describe('TLS', () => {
  let tls: { key: string; cert: string } | null;
  let httpsPort = 0;
  let plainPort = 0;
  beforeAll(async () => {
    tls = selfSignedCert();
    if (tls) httpsPort = await listen(https.createServer(tls, (_req, res) => res.end('{}')));
    plainPort = await listen(http.createServer((_req, res) => res.end('{}')));
  });

  test('a self-signed certificate is refused: bad endpoint', async () => {
    if (!tls) throw new Error('this test needs openssl (to make a self-signed certificate): install it');
    const input = { path: path.join(dir, 'in.jsonl'), requestCount: 1, bytes: 10, idempotencyKey: 'k', notBefore: 0, endpoint: '/v1/chat/completions', options: {}, workDir: dir };
    const err = await failure(openai.prepareInput(conn(`https://127.0.0.1:${httpsPort}/v1`), input));
    check(err, 'bad_endpoint', `https://127.0.0.1:${httpsPort}/v1/files`);
    // Node 22+ adds its own hint to the certificate error ("; if the root CA is installed locally, try running Node.js
    // with --use-system-ca"), kept as it says something true; the rest is anybatch's, on every Node version.
    expect(err.message.replace('; if the root CA is installed locally, try running Node.js with --use-system-ca', '')).toBe(
      `list files: https://127.0.0.1:${httpsPort}/v1/files: TLS certificate refused (DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate). Check the base URL (set by apiBase / --api-base, or OPENAI_BASE_URL on the worker); to trust a private CA, set NODE_EXTRA_CA_CERTS on the worker.`,
    );
  });

  test('https:// to a plain-http server: bad endpoint, with the http/https hint', async () => {
    const err = await failure(openai.retrieveBatch(conn(`https://127.0.0.1:${plainPort}/v1`), 'batch_1'));
    check(err, 'bad_endpoint', `https://127.0.0.1:${plainPort}/v1/batches/batch_1`);
    expect(err.message).toMatch(/: TLS handshake failed \((EPROTO|ERR_SSL_WRONG_VERSION_NUMBER)(: wrong version number)?\)\. The server does not speak TLS there: use http:\/\//);
    expect(err.message).not.toMatch(/openssl|\.c:\d+/);
  });

  test('http:// to an https server: the connection closes, and the message hints at https://', async () => {
    if (!tls) return;
    const err = await failure(openai.retrieveBatch(conn(`http://127.0.0.1:${httpsPort}/v1`), 'batch_1'));
    check(err, 'unreachable', `http://127.0.0.1:${httpsPort}/v1/batches/batch_1`);
    expect(err.message).toContain('use https:// if it speaks TLS');
  });
});

// ---- HTTP answers, through the real openai SDK ----

describe('HTTP answers', () => {
  test('401: auth, names the key options and the base URL, never the echoed key', async () => {
    const err = await failure(openai.retrieveBatch(conn(`${api}/s401/v1`), 'batch_1'));
    check(err, 'auth', `${api}/s401/v1/batches/batch_1`);
    expect(err.status).toBe(401);
    expect(err.message).toBe(
      `retrieve batch: OpenAI refused the API key (401 invalid_api_key) at ${api}/s401/v1. Pass --api-key on the CLI or apiKey in the library, or set OPENAI_API_KEY for the worker.`,
    );
  });

  test('the sandbox refusing a key: auth', async () => {
    const err = await failure(openai.retrieveBatch({ apiKey: 'sk-wrong-key-0000', apiBase: `${sandbox.url}/v1` }, 'batch_1'));
    expect(err.kind).toBe('auth');
    expect(err.message).not.toContain('sk-wrong-key-0000');
  });

  test('403: permission, with what the provider said and what to check', async () => {
    const err = await failure(openai.retrieveBatch(conn(`${api}/s403/v1`), 'batch_1'));
    check(err, 'permission', `${api}/s403/v1/batches/batch_1`);
    expect(err.message).toBe(
      `retrieve batch: OpenAI says the API key may not do this (403 permission_denied: You are not allowed to create batches with this key (missing scope api.batch.write).) at ${api}/s403/v1/batches/batch_1: check the key's project/permissions.`,
    );
  });

  test('404 of a batch: not found', async () => {
    const err = await failure(openai.retrieveBatch(conn(`${api}/s404/v1`), 'batch_nope'));
    check(err, 'not_found', `${api}/s404/v1/batches/batch_nope`);
    expect(err.message).toBe(`retrieve batch: not found (404: No batch found with id 'batch_nope'.) at ${api}/s404/v1/batches/batch_nope.`);
  });

  test('404 of an unknown model on create: not found, naming the model', async () => {
    const request = {
      input: { path: '', requestCount: 1, bytes: 1, idempotencyKey: 'k', notBefore: 0, endpoint: '/v1/chat/completions', options: {}, workDir: dir },
      prepared: preparedFile('file_1'),
      endpoint: '/v1/chat/completions',
      completionWindow: '24h',
      metadata: null,
    };
    const err = await failure(openai.createBatch(conn(`${api}/model/v1`), request));
    check(err, 'not_found', `${api}/model/v1/batches`);
    expect(err.message).toBe(
      `create batch: OpenAI does not know the model "gpt-9-turbo" or the key may not use it (404 model_not_found: The model \`gpt-9-turbo\` does not exist or you do not have access to it.) at ${api}/model/v1/batches. Check the model in the requests and the key's project.`,
    );
  });

  test('404 with an HTML page: the base URL is not an API', async () => {
    const err = await failure(openai.retrieveBatch(conn(`${api}/html`), 'batch_1'));
    check(err, 'bad_endpoint', `${api}/html/batches/batch_1`);
    expect(err.message).toBe(
      `retrieve batch: ${api}/html/batches/batch_1 answered 404 with an HTML page ("404 Not Found"), so the base URL ${api}/html is not the OpenAI API (OpenAI-compatible base URLs end in /v1). Check the base URL (set by apiBase / --api-base, or OPENAI_BASE_URL on the worker).`,
    );
    expect(err.message).not.toContain('<');
  });

  test("a base URL missing /v1 (OpenAI's \"Invalid URL\" 404, here from the sandbox): bad endpoint", async () => {
    const err = await failure(openai.retrieveBatch(conn(sandbox.url), 'batch_1'));
    check(err, 'bad_endpoint', `${sandbox.url}/batches/batch_1`);
    expect(err.message).toContain(`answered 404 (Invalid URL (GET /batches/batch_1)), so the base URL ${sandbox.url} is not the OpenAI API (OpenAI-compatible base URLs end in /v1)`);
  });

  test('429: rate limited, with retry-after', async () => {
    const err = await failure(openai.retrieveBatch(conn(`${api}/s429/v1`), 'batch_1'));
    check(err, 'rate_limited', `${api}/s429/v1/batches/batch_1`);
    expect(err.retryAfterMs).toBe(3000);
    expect(err.message).toBe(
      `retrieve batch: OpenAI rate limit (429 rate_limit_exceeded: Rate limit reached for requests. Please try again later.) at ${api}/s429/v1/batches/batch_1; retry after 3 s.`,
    );
    const quota = await failure(openai.retrieveBatch(conn(`${api}/quota/v1`), 'batch_1'));
    expect(quota.kind).toBe('permission');
    expect(quota.message).toContain('check its plan and billing');
  });

  test('500: transient, with the request id', async () => {
    const err = await failure(openai.retrieveBatch(conn(`${api}/s500/v1`), 'batch_1'));
    check(err, 'transient', `${api}/s500/v1/batches/batch_1`);
    expect(err.message).toBe(
      `retrieve batch: OpenAI answered 500 (server_error: The server had an error while processing your request. Sorry about that!) at ${api}/s500/v1/batches/batch_1 (request id req_abc123); this is usually temporary.`,
    );
  });

  test('other 4xx: invalid request', async () => {
    const err = await failure(openai.retrieveBatch(conn(`${api}/s400/v1`), 'batch_1'));
    check(err, 'invalid_request', `${api}/s400/v1/batches/batch_1`);
    expect(err.message).toBe(`retrieve batch: OpenAI rejected the request (400 invalid_value: Invalid value for 'completion_window': '48h'.) at ${api}/s400/v1/batches/batch_1.`);
  });

  test('a missing key: auth, before any request', async () => {
    const saved = process.env.OPENAI_API_KEY;
    delete process.env.OPENAI_API_KEY;
    try {
      const err = await failure(openai.retrieveBatch({ apiBase: `${api}/s401/v1` }, 'batch_1'));
      expect(err.kind).toBe('auth');
      expect(err.message).toBe('No OpenAI API key: pass --api-key on the CLI or apiKey in the library, or set OPENAI_API_KEY in the worker environment.');
    } finally {
      if (saved !== undefined) process.env.OPENAI_API_KEY = saved;
    }
  });
});

describe('Anthropic', () => {
  test('401, 404, 529 and a closed port through the real @anthropic-ai/sdk', async () => {
    const auth = await failure(anthropic.retrieveBatch(conn(`${api}/a401`), 'msgbatch_x'));
    check(auth, 'auth', `${api}/a401/v1/messages/batches/msgbatch_x`);
    expect(auth.message).toBe(
      `retrieve message batch: Anthropic refused the API key (401 authentication_error) at ${api}/a401. Pass --api-key on the CLI or apiKey in the library, or set ANTHROPIC_API_KEY for the worker.`,
    );
    const missing = await failure(anthropic.retrieveBatch(conn(`${api}/a404`), 'msgbatch_x'));
    check(missing, 'not_found', `${api}/a404/v1/messages/batches/msgbatch_x`);
    expect(missing.message).toContain('(404 not_found_error: No batch with id msgbatch_x.)');
    const overloaded = await failure(anthropic.retrieveBatch(conn(`${api}/a529`), 'msgbatch_x'));
    check(overloaded, 'transient', `${api}/a529/v1/messages/batches/msgbatch_x`);
    const port = await closedPort();
    const refused = await failure(anthropic.retrieveBatch(conn(`http://127.0.0.1:${port}`), 'msgbatch_x'));
    check(refused, 'unreachable', `http://127.0.0.1:${port}/v1/messages/batches/msgbatch_x`);
    expect(refused.message).toContain('or ANTHROPIC_BASE_URL on the worker');
  });

  test('an SDK error outside a call still classifies (no URL known then)', () => {
    const err = anthropicError(Anthropic.APIError.generate(401, { type: 'error', error: { type: 'authentication_error', message: 'x' } }, undefined, new Headers()), 'download results');
    expect((err as ProviderError).kind).toBe('auth');
  });
});

test('FetchFailure survives the SDK wrapping it as APIConnectionError', async () => {
  const port = await closedPort();
  const client = new OpenAI({ apiKey: KEY, baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0, fetch: createStreamingFetch() });
  const err = await client.files.list({ purpose: 'batch' }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OpenAI.APIConnectionError);
  const cause = (err as { cause?: unknown }).cause;
  expect(cause).toBeInstanceOf(FetchFailure);
  expect(cause).toMatchObject({ code: 'ECONNREFUSED', method: 'GET', url: `http://127.0.0.1:${port}/v1/files`, host: '127.0.0.1' });
  expect((cause as Error).message).not.toContain('purpose');
});
