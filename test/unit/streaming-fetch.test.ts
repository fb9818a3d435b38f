import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import busboy from 'busboy';
import { streamingFetch } from '../../src/providers/streaming-fetch';

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

test('a refused connection rejects; data: URLs go to the built-in fetch', async () => {
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  await expect(streamingFetch(`http://127.0.0.1:${port}/`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  expect(await (await streamingFetch('data:,hello')).text()).toBe('hello');
});
