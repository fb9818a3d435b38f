import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import busboy from 'busboy';
import { createStreamingFetch, FetchFailure, safeUrl, streamingFetch } from '../../src/providers/streaming-fetch';

interface Received {
  method: string;
  headers: http.IncomingHttpHeaders;
  bytes: number;
  fields: Record<string, string>;
  files: Record<string, { filename: string; mimeType: string; content: string }>;
  raw: string;
}

let server: http.Server;
let base: string;
let received: Received[] = [];
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-fetch-'));
  server = http.createServer((req, res) => {
    const seen: Received = { method: req.method!, headers: req.headers, bytes: 0, fields: {}, files: {}, raw: '' };
    received.push(seen);
    if (req.url === '/no-content') {
      req.resume();
      res.writeHead(204, { 'x-request-id': 'r-204' }).end();
      return;
    }
    if (req.url === '/hang') return; // never answers
    if ((req.headers['content-type'] ?? '').startsWith('multipart/form-data')) {
      req.on('data', (chunk: Buffer) => (seen.bytes += chunk.length));
      const form = busboy({ headers: req.headers });
      form.on('field', (name, value) => (seen.fields[name] = value));
      form.on('file', (name, stream, info) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => (seen.files[name] = { filename: info.filename, mimeType: info.mimeType, content: Buffer.concat(chunks).toString() }));
      });
      form.on('close', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true })));
      req.pipe(form);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.raw = Buffer.concat(chunks).toString();
      seen.bytes = seen.raw.length;
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.writeHead(201, 'Made', { 'content-type': 'text/plain' });
      res.end(`echo:${seen.raw}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  received = [];
});

test('a multipart upload is encoded with an exact Content-Length and the file read from disk', async () => {
  const file = path.join(dir, 'input.jsonl');
  const content = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ custom_id: `r-${i}`, text: 'é "quoted" 東京' })).join('\n') + '\n';
  fs.writeFileSync(file, content);
  const form = new FormData();
  form.append('purpose', 'batch');
  form.append('file', new File([await fs.openAsBlob(file)], 'we"ird\nname.jsonl', { type: 'application/jsonl' }));
  const res = await streamingFetch(`${base}/files`, { method: 'POST', body: form, headers: { authorization: 'Bearer k' } });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ ok: true });
  const [seen] = received;
  expect(seen.headers.authorization).toBe('Bearer k');
  expect(seen.headers['transfer-encoding']).toBeUndefined();
  expect(Number(seen.headers['content-length'])).toBe(seen.bytes);
  expect(seen.fields).toEqual({ purpose: 'batch' });
  expect(seen.files.file).toEqual({ filename: 'we%22ird%0Aname.jsonl', mimeType: 'application/jsonl', content });
});

test('strings are sent with their length; status, status text and repeated headers come back', async () => {
  const res = await streamingFetch(new URL(`${base}/echo`), { method: 'post', body: '{"a":"é"}', headers: { 'content-type': 'application/json' } });
  expect(res.status).toBe(201);
  expect(res.statusText).toBe('Made');
  expect(res.headers.get('set-cookie')).toBe('a=1, b=2');
  expect(await res.text()).toBe('echo:{"a":"é"}');
  expect(received[0].method).toBe('POST');
  expect(received[0].headers['content-length']).toBe(String(Buffer.byteLength('{"a":"é"}')));
  expect(received[0].headers['content-type']).toBe('application/json');
});

test('a streamed body (async iterable or ReadableStream) is sent chunked, in order', async () => {
  async function* parts() {
    for (let i = 0; i < 100; i++) yield Buffer.from(`${i},`);
  }
  const expected = Array.from({ length: 100 }, (_, i) => `${i},`).join('');
  const viaIterable = await streamingFetch(`${base}/echo`, { method: 'POST', body: parts() as unknown as RequestInit["body"] });
  expect(await viaIterable.text()).toBe(`echo:${expected}`);
  const viaStream = await streamingFetch(`${base}/echo`, { method: 'POST', body: ReadableStream.from(parts()) as unknown as RequestInit["body"], duplex: 'half' } as RequestInit);
  expect(await viaStream.text()).toBe(`echo:${expected}`);
  expect(received.map((r) => r.headers['transfer-encoding'])).toEqual(['chunked', 'chunked']);
});

test('a 204 answer has no body', async () => {
  const res = await streamingFetch(`${base}/no-content`, { method: 'DELETE' });
  expect(res.status).toBe(204);
  expect(res.body).toBeNull();
  expect(res.headers.get('x-request-id')).toBe('r-204');
});

test('an abort signal cancels a request in flight, and an aborted signal never sends one', async () => {
  const controller = new AbortController();
  const pending = streamingFetch(`${base}/hang`, { signal: controller.signal });
  await new Promise((r) => setTimeout(r, 50));
  controller.abort();
  await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  const before = received.length;
  await expect(streamingFetch(`${base}/echo`, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
  expect(received.length).toBe(before);
});

test('a refused connection rejects with a FetchFailure: method, URL without query, code; data: URLs go to the built-in fetch', async () => {
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const err = await streamingFetch(`http://127.0.0.1:${port}/v1/files?api_key=sk-secret123456#frag`, { method: 'post', body: 'x' }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(FetchFailure);
  expect(err).toMatchObject({ name: 'FetchFailure', code: 'ECONNREFUSED', method: 'POST', url: `http://127.0.0.1:${port}/v1/files`, host: '127.0.0.1', connectTimeoutMs: null });
  expect((err as Error).message).toBe(`POST http://127.0.0.1:${port}/v1/files: connect ECONNREFUSED 127.0.0.1:${port}`);
  expect((err as Error & { cause: { code: string } }).cause.code).toBe('ECONNREFUSED');
  expect(await (await streamingFetch('data:,hello')).text()).toBe('hello');
});

test('safeUrl keeps origin and path only', () => {
  expect(safeUrl('https://user:pw@api.example.test:8443/v1/files?key=s#x')).toBe('https://api.example.test:8443/v1/files');
  expect(safeUrl('not a url')).toBe('(invalid URL)');
  expect(safeUrl(new URL('data:,secret'))).toBe('data:…');
});

test('connecting is bounded: a TLS handshake that never completes fails with ETIMEDOUT after connectTimeoutMs', async () => {
  const silent = net.createServer(() => undefined); // accepts TCP, never answers the TLS hello
  const open = new Set<net.Socket>();
  silent.on('connection', (s) => open.add(s));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const port = (silent.address() as AddressInfo).port;
  try {
    const started = Date.now();
    const err = await createStreamingFetch({ connectTimeoutMs: 150 })(`https://127.0.0.1:${port}/v1/batches`).catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(err).toMatchObject({ code: 'ETIMEDOUT', connectTimeoutMs: 150, url: `https://127.0.0.1:${port}/v1/batches` });
    // The bound covers connecting only: an answer that takes longer than it still arrives.
    const res = await createStreamingFetch({ connectTimeoutMs: 50 })(`${base}/echo`, { method: 'POST', body: 'slow?' });
    expect(res.status).toBe(201);
  } finally {
    for (const s of open) s.destroy();
    await new Promise((resolve) => silent.close(resolve));
  }
});

test('a custom lookup resolves host names (no DNS query leaves the machine), and its failure is the FetchFailure code', async () => {
  const seen: string[] = [];
  const lookup: net.LookupFunction = (hostname, options, callback) => {
    seen.push(hostname);
    const cb = callback as (err: Error | null, address?: string | { address: string; family: number }[], family?: number) => void;
    if (hostname === 'missing.test') {
      return process.nextTick(() => cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname })));
    }
    process.nextTick(() => ((options as { all?: boolean }).all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4)));
  };
  const viaLookup = createStreamingFetch({ lookup });
  const port = new URL(base).port;
  const ok = await viaLookup(`http://sandbox.test:${port}/echo`, { method: 'POST', body: 'hi' });
  expect(await ok.text()).toBe('echo:hi');
  const err = await viaLookup('https://missing.test/v1/files').catch((e: unknown) => e);
  expect(err).toMatchObject({ name: 'FetchFailure', code: 'ENOTFOUND', host: 'missing.test', url: 'https://missing.test/v1/files' });
  expect(seen).toEqual(['sandbox.test', 'missing.test']);
});

test('a request body that fails to read rejects with its own error, not as a network failure', async () => {
  async function* broken() {
    yield Buffer.from('part,');
    throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
  }
  const err = await streamingFetch(`${base}/echo`, { method: 'POST', body: broken() as unknown as RequestInit['body'] }).catch((e: unknown) => e);
  expect(err).not.toBeInstanceOf(FetchFailure);
  expect(err).toMatchObject({ code: 'EIO', message: 'EIO: i/o error, read' });
});
