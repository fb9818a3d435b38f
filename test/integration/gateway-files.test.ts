/**
 * The gateway's files and keys, driven by the official OpenAI Node SDK against the run's Temporal server and the
 * sandbox: an input file's content is the bytes uploaded; DELETE of an input file (OpenAI's deleted object, then 404s;
 * another key's file untouched; batches made from it unharmed) and of a batch's result files (refused, the results
 * kept); the upload size limit (413, nothing left behind); a keys file's tenant options; which key reaches the provider
 * (the held key with a keys file, the caller's own in open mode, never the caller's gateway key) and that no key is
 * written to the store; and `anybatch serve` as a process (loopback by default, /healthz, a clean SIGTERM).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import OpenAI, { toFile } from 'openai';
import { createGateway, type Gateway, type GatewayOptions } from '../../src/gateway';
import type { ReceivedCredentials } from '../../src/sandbox';
import { openStore, S3BlobStore } from '../../src/storage';
import { freePort } from '../../src/temporal/devserver';
import { CLI } from '../support/cli';
import { eventually, startTestEnv, writeChatInput, type TestEnv } from '../support/env';
import { testS3Config } from '../support/s3';

let env: TestEnv;
let gateway: Gateway;
let base: string;

async function startGateway(options: GatewayOptions = {}): Promise<{ gateway: Gateway; base: string }> {
  const g = createGateway({ client: env.options, defaultProvider: 'openai', batchDefaults: { pollInterval: '200ms' }, ...options });
  await new Promise<void>((resolve) => g.server.listen(0, '127.0.0.1', resolve));
  return { gateway: g, base: `http://127.0.0.1:${(g.server.address() as AddressInfo).port}` };
}

beforeAll(async () => {
  env = await startTestEnv();
  process.env.OPENAI_BASE_URL = env.sandbox.baseUrls.openai;
  process.env.ANTHROPIC_BASE_URL = env.sandbox.baseUrls.anthropic;
  ({ gateway, base } = await startGateway());
});
afterAll(async () => {
  await gateway?.close();
  delete process.env.OPENAI_BASE_URL;
  delete process.env.ANTHROPIC_BASE_URL;
  await env?.teardown();
});
afterEach(() => env.sandbox.setFaults({}));

const client = (key: string, prefix = '/v1', at = base) => new OpenAI({ apiKey: key, baseURL: `${at}${prefix}`, maxRetries: 0 });
const TERMINAL = ['completed', 'failed', 'expired', 'cancelled'];

/** Polls the batch until it ends; `each` sees every state read on the way (and the last). */
async function untilTerminal(openai: OpenAI, id: string, each: () => void = () => undefined): Promise<OpenAI.Batches.Batch> {
  for (;;) {
    each();
    const batch = await openai.batches.retrieve(id);
    if (TERMINAL.includes(batch.status)) {
      each();
      return batch;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function upload(openai: OpenAI, n: number, prefix: string, model = 'gpt-4o-mini'): Promise<OpenAI.Files.FileObject> {
  return openai.files.create({ file: fs.createReadStream(writeChatInput(env.home, n, { prefix, model })), purpose: 'batch' });
}

async function content(openai: OpenAI, fileId: string): Promise<Buffer> {
  return Buffer.from(await (await openai.files.content(fileId)).arrayBuffer());
}

async function customIds(openai: OpenAI, fileId: string | null | undefined): Promise<string[]> {
  if (!fileId) return [];
  const text = (await content(openai, fileId)).toString('utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { custom_id: string }).custom_id)
    .sort();
}

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`).sort();
const failure = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e);

/** The store's keys under `prefix`. */
async function storeKeys(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const entry of openStore().list(prefix)) keys.push(entry.key);
  return keys.sort();
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? [full, ...filesUnder(full)] : e.isFile() ? [full] : [];
  });
}

/** The files under ANYBATCH_HOME (the store, the key file, ...) whose bytes hold `secret`. */
function filesHolding(secret: string): string[] {
  const needle = Buffer.from(secret, 'utf8');
  return filesUnder(env.home).filter((f) => {
    try {
      return fs.statSync(f).isFile() && fs.readFileSync(f).includes(needle);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false; // a temp file renamed meanwhile
      throw err;
    }
  });
}

/** Every path under the OS temp dir's gateway folders (the uploads' and each gateway's own). */
function gatewayTemp(): string[] {
  return fs
    .readdirSync(os.tmpdir())
    .filter((n) => n.startsWith('anybatch-gateway-'))
    .flatMap((n) => [path.join(os.tmpdir(), n), ...filesUnder(path.join(os.tmpdir(), n))])
    .sort();
}

/** The keys a provider module received: each credential as sent, a bearer token without its scheme. */
function keysSent(c: ReceivedCredentials | undefined): string[] {
  return Object.values(c ?? {}).map((v: string) => v.replace(/^Bearer\s+/i, ''));
}

/**
 * Runs a batch of `openai`'s and gathers every key the sandbox's `module` received from just before it is created
 * until it ends: a marker request with a key of its own goes first, so what came before is not counted.
 */
async function keysReceivedFor(openai: OpenAI, module: 'openai' | 'anthropic', fileId: string): Promise<{ batch: OpenAI.Batches.Batch; keys: string[] }> {
  const marker = `marker-${crypto.randomBytes(6).toString('hex')}`;
  await fetch(`${env.sandbox.baseUrls[module]}/marker`, { headers: { authorization: `Bearer ${marker}` } });
  expect(keysSent(env.sandbox.stats().lastCredentials[module])).toEqual([marker]);
  const seen = new Set<string>();
  const sample = () => keysSent(env.sandbox.stats().lastCredentials[module]).forEach((k) => seen.add(k));
  const created = await openai.batches.create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h' });
  const batch = await untilTerminal(openai, created.id, sample);
  seen.delete(marker);
  return { batch, keys: [...seen] };
}

/** A file of `n` chat lines as a user's editor may write it: CRLF line ends, a blank line, no final newline (and a BOM). */
function editorInput(n: number, prefix: string, bom: boolean): Buffer {
  const lines = Array.from({ length: n }, (_, i) =>
    JSON.stringify({ custom_id: `${prefix}-${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Grüße ${i} — ✓` }] } }),
  );
  return Buffer.concat([Buffer.from(bom ? [0xef, 0xbb, 0xbf] : []), Buffer.from(`${lines[0]}\r\n\r\n${lines.slice(1).join('\r\n')}`, 'utf8')]);
}

/** A multipart upload body of one chat line, as an SDK sends it. */
function multipartUpload(customId: string): { body: Buffer; type: string } {
  const boundary = `b-${crypto.randomBytes(6).toString('hex')}`;
  const line = JSON.stringify({ custom_id: customId, method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] } });
  const body = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${customId}.jsonl"\r\nContent-Type: application/jsonl\r\n\r\n${line}\n\r\n--${boundary}--\r\n`,
  );
  return { body, type: `multipart/form-data; boundary=${boundary}` };
}

/** The connections `halfUpload` made, destroyed after each test whatever became of them. */
const handMade = new Set<net.Socket>();
afterEach(() => {
  for (const socket of handMade) socket.destroy();
  handMade.clear();
});

/**
 * An upload sent by hand, half of it: its headers, once answered by `100 Continue` (the server has the request in
 * progress), and the first half of its body. `rest()` sends the other half, `drop()` gives up (the connection cut);
 * `answer` is all the server sent until it closed the connection.
 */
async function halfUpload(port: number, key: string): Promise<{ rest(): void; drop(): void; answer: Promise<string> }> {
  const { body, type } = multipartUpload(`half-${crypto.randomBytes(3).toString('hex')}`);
  const socket = net.connect({ host: '127.0.0.1', port });
  handMade.add(socket);
  let received = '';
  const answer = new Promise<string>((resolve) => {
    socket.on('data', (d: Buffer) => (received += d.toString()));
    socket.on('close', () => resolve(received));
    socket.on('error', () => undefined); // a reset is a close too
  });
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write(`POST /v1/files HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${key}\r\nContent-Type: ${type}\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`);
  await new Promise<void>((resolve) => {
    const check = () => {
      if (!received.includes('100 Continue')) return;
      socket.off('data', check);
      resolve();
    };
    socket.on('data', check);
  });
  const half = Math.floor(body.length / 2);
  socket.write(body.subarray(0, half));
  return { rest: () => socket.write(body.subarray(half)), drop: () => socket.destroy(), answer };
}

describe('an input file', () => {
  test('its content is the bytes uploaded', async () => {
    const openai = client('sk-files-content-plain');
    const file = writeChatInput(env.home, 5, { prefix: 'plain' });
    const uploaded = await openai.files.create({ file: fs.createReadStream(file), purpose: 'batch' });
    const got = await content(openai, uploaded.id);
    expect(got.equals(fs.readFileSync(file))).toBe(true);
    expect(uploaded.bytes).toBe(got.length);
  });

  test('its content is the bytes uploaded as an editor wrote them (CRLF line ends, a blank line, no final newline), and bytes counts them; a batch runs every line', async () => {
    const openai = client('sk-files-content-editor');
    const bytes = editorInput(4, 'crlf', false);
    const uploaded = await openai.files.create({ file: await toFile(bytes, 'crlf.jsonl'), purpose: 'batch' });
    expect(uploaded.bytes).toBe(bytes.length);
    expect((await content(openai, uploaded.id)).toString('hex')).toBe(bytes.toString('hex'));
    const created = await openai.batches.create({ input_file_id: uploaded.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const done = await untilTerminal(openai, created.id);
    expect(done).toMatchObject({ status: 'completed', request_counts: { total: 4, completed: 4, failed: 0 } });
    expect(await customIds(openai, done.output_file_id)).toEqual(ids('crlf', 4));
  });

  test("a file starting with a BOM (as Windows tools write UTF-8) is read with its lines' endpoint: taken, its content the bytes uploaded, a batch runs every line", async () => {
    const openai = client('sk-files-content-bom');
    const bytes = editorInput(4, 'bom', true);
    const uploaded = await openai.files.create({ file: await toFile(bytes, 'bom.jsonl'), purpose: 'batch' });
    expect(uploaded).toMatchObject({ bytes: bytes.length, anybatch: { endpoint: '/v1/chat/completions', request_count: 4 } });
    expect((await content(openai, uploaded.id)).toString('hex')).toBe(bytes.toString('hex'));
    const created = await openai.batches.create({ input_file_id: uploaded.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const done = await untilTerminal(openai, created.id);
    expect(done).toMatchObject({ status: 'completed', request_counts: { total: 4, completed: 4, failed: 0 } });
    expect(await customIds(openai, done.output_file_id)).toEqual(ids('bom', 4));
  });

  test('a first line longer than 1 MiB (a long document, an inline image) is read whole for its endpoint', async () => {
    const openai = client('sk-files-long-first-line');
    const long = JSON.stringify({ custom_id: 'long-0', method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'word '.repeat(400_000) }] } });
    expect(Buffer.byteLength(long)).toBeGreaterThan(1 << 20);
    const bytes = Buffer.from(`${long}\n${editorInput(2, 'short', false).toString('utf8')}\n`);
    const uploaded = await openai.files.create({ file: await toFile(bytes, 'long.jsonl'), purpose: 'batch' });
    expect(uploaded).toMatchObject({ bytes: bytes.length, anybatch: { endpoint: '/v1/chat/completions', request_count: 3 } });
    expect((await content(openai, uploaded.id)).equals(bytes)).toBe(true);
  });

  /** A file of `n` good lines and a bad last one, as uploaded by `openai`: the 400 it gets. */
  async function refusedUpload(openai: OpenAI, n: number): Promise<unknown> {
    const good = editorInput(n, 'bad', false);
    return failure(openai.files.create({ file: await toFile(Buffer.concat([good, Buffer.from('\n{not json\n')]), 'bad.jsonl'), purpose: 'batch' }));
  }

  test('a refused upload (a bad line) is a 400 naming the line and leaves nothing in the store', async () => {
    const openai = client('sk-files-refused');
    const before = await storeKeys('gateway/');
    for (const n of [3, 20_000]) {
      const err = await refusedUpload(openai, n);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect((err as Error).message).toContain(`line ${n + 2}`);
      expect(await storeKeys('gateway/')).toEqual(before);
    }
  });

  test('on an S3 store: the content is the bytes uploaded, and a refused upload leaves no object', async () => {
    // Parts of 5 MiB: the larger files below are multipart uploads, the small ones a single PUT.
    const store = new S3BlobStore({ ...testS3Config(), prefix: `gateway-files-${crypto.randomBytes(4).toString('hex')}`, partSize: 5 * 1024 * 1024 });
    const s3 = await startGateway({ store });
    try {
      const openai = client('sk-files-on-s3', '/v1', s3.base);
      const bytes = editorInput(40_000, 's3', false);
      expect(bytes.length).toBeGreaterThan(5 * 1024 * 1024);
      const uploaded = await openai.files.create({ file: await toFile(bytes, 's3.jsonl'), purpose: 'batch' });
      expect(uploaded.bytes).toBe(bytes.length);
      expect((await content(openai, uploaded.id)).equals(bytes)).toBe(true);
      const keys = async () => {
        const all: string[] = [];
        for await (const entry of store.list('gateway/')) all.push(entry.key);
        return all.sort();
      };
      const before = await keys();
      expect(before.filter((k) => k.includes(uploaded.id))).toHaveLength(2);
      for (const n of [3, 40_000]) {
        expect(await refusedUpload(openai, n)).toBeInstanceOf(OpenAI.BadRequestError);
        expect(await keys()).toEqual(before);
        const uploads = await store.client.send(new ListMultipartUploadsCommand({ Bucket: store.bucket, Prefix: `${store.prefix}/` }));
        expect(uploads.Uploads ?? []).toEqual([]);
      }
    } finally {
      await s3.gateway.close();
      store.destroy();
    }
  });
});

describe('DELETE /v1/files/{id}', () => {
  test("answers OpenAI's deleted object; then retrieve, content, a second delete and a batch from it are 404s, and its folder is gone", async () => {
    const openai = client('sk-files-delete-own');
    const file = await upload(openai, 3, 'del');
    const folders = (await storeKeys('gateway/openai/')).filter((k) => k.includes(`/files/${file.id}/`));
    expect(folders.length).toBeGreaterThan(0);
    const deleted = await openai.files.delete(file.id);
    expect(deleted).toEqual({ id: file.id, object: 'file', deleted: true });
    await expect(openai.files.retrieve(file.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(openai.files.content(file.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(openai.files.delete(file.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(openai.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect((await storeKeys('gateway/openai/')).filter((k) => k.includes(`/files/${file.id}/`))).toEqual([]);
  });

  test("another key's file: a 404, as if it did not exist, and nothing is deleted", async () => {
    const mine = client('sk-files-delete-owner');
    const theirs = client('sk-files-delete-other');
    const file = await upload(mine, 3, 'keep');
    const before = await storeKeys('gateway/openai/');
    const err = await failure(theirs.files.delete(file.id));
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as Error).message).toContain(file.id);
    expect(await storeKeys('gateway/openai/')).toEqual(before);
    expect(await mine.files.retrieve(file.id)).toMatchObject({ id: file.id, bytes: file.bytes });
    expect(await customIds(mine, file.id)).toEqual(ids('keep', 3));
  });

  test('the input file of a finished batch and of a running one: both batches keep their input (staged copies) and end with every result', async () => {
    const openai = client('sk-files-delete-in-use');
    const file = await upload(openai, 300, 'use');
    const finished = await openai.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const first = await untilTerminal(openai, finished.id);
    expect(first.status).toBe('completed');
    const running = await openai.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    expect(TERMINAL).not.toContain((await openai.batches.retrieve(running.id)).status);
    expect(await openai.files.delete(file.id)).toMatchObject({ id: file.id, deleted: true });

    const second = await untilTerminal(openai, running.id);
    expect(second).toMatchObject({ status: 'completed', input_file_id: file.id, request_counts: { total: 300, completed: 300, failed: 0 } });
    expect(await customIds(openai, second.output_file_id)).toEqual(ids('use', 300));
    expect(await openai.batches.retrieve(finished.id)).toMatchObject({ status: 'completed', input_file_id: file.id, output_file_id: first.output_file_id });
    expect(await customIds(openai, first.output_file_id)).toEqual(ids('use', 300));
  });

  test("a batch's output and error files are not deleted: a 400 saying they go with the batch, and they still stream; another key gets a 404", async () => {
    const openai = client('sk-files-delete-results');
    env.sandbox.setFaults({ requestFaultRate: 0.5, seed: 11 });
    const file = await upload(openai, 20, 'res');
    const created = await openai.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const done = await untilTerminal(openai, created.id);
    expect(done.status).toBe('completed');
    expect(done.output_file_id).toBe(`file-${created.id}-output`);
    expect(done.error_file_id).toBe(`file-${created.id}-errors`);
    const output = await content(openai, done.output_file_id!);
    const errors = await content(openai, done.error_file_id!);
    expect(errors.length).toBeGreaterThan(0);

    for (const id of [done.output_file_id!, done.error_file_id!]) {
      const err = await failure(openai.files.delete(id));
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect((err as Error).message).toContain(`${id} holds a batch's results`);
      expect((err as Error).message).toContain('anybatch delete');
      await expect(client('sk-files-delete-stranger').files.delete(id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    }
    expect((await content(openai, done.output_file_id!)).equals(output)).toBe(true);
    expect((await content(openai, done.error_file_id!)).equals(errors)).toBe(true);
    expect(await openai.files.retrieve(done.output_file_id!)).toMatchObject({ id: done.output_file_id, bytes: output.length, purpose: 'batch_output' });
  });
});

describe('an upload cut short', () => {
  test('an upload its client gives up midway leaves nothing: its temporary file is removed, nothing is in the store', async () => {
    const port = (gateway.server.address() as AddressInfo).port;
    const tempBefore = gatewayTemp();
    const upload = await halfUpload(port, 'sk-upload-given-up');
    // The upload is being received into a temporary folder of its own.
    await eventually(() => gatewayTemp().some((p) => !tempBefore.includes(p)));
    const storeBefore = await storeKeys('gateway/');
    upload.drop();
    await eventually(() => JSON.stringify(gatewayTemp()) === JSON.stringify(tempBefore));
    expect(await storeKeys('gateway/')).toEqual(storeBefore);
    // The gateway serves on.
    expect(await client('sk-upload-given-up').files.create({ file: await toFile(editorInput(2, 'after', false), 'after.jsonl'), purpose: 'batch' })).toMatchObject({ status: 'processed' });
  });
});

describe('the upload size limit', () => {
  const line = (i: number) => JSON.stringify({ custom_id: `big-${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] } }) + '\n';
  const lines = (n: number) => Array.from({ length: n }, (_, i) => line(i)).join('');

  test("an upload over it is a 413 in OpenAI's envelope and leaves nothing in the store or the temp dir", async () => {
    const limited = await startGateway({ maxUploadBytes: 2000 });
    try {
      const openai = client('sk-upload-limit', '/v1', limited.base);
      const over = Buffer.from(lines(40));
      expect(over.length).toBeGreaterThan(2000);
      const storeBefore = await storeKeys('gateway/');
      const tempBefore = gatewayTemp();

      const err = await failure(openai.files.create({ file: await toFile(over, 'big.jsonl'), purpose: 'batch' }));
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect(err).toMatchObject({ status: 413, code: 'file_too_large', param: 'file', type: 'invalid_request_error' });
      expect((err as Error).message).toContain('2000 bytes');
      expect(await storeKeys('gateway/')).toEqual(storeBefore);
      expect(gatewayTemp()).toEqual(tempBefore);
    } finally {
      await limited.gateway.close();
    }
  });

  test('an upload of exactly the limit is taken, one byte more is not', async () => {
    const limited = await startGateway({ maxUploadBytes: 2000 });
    try {
      const openai = client('sk-upload-limit-exact', '/v1', limited.base);
      // One request and blank lines up to the size wanted.
      const sized = (bytes: number) => Buffer.concat([Buffer.from(line(0)), Buffer.alloc(bytes - Buffer.byteLength(line(0)), '\n')]);
      const taken = await openai.files.create({ file: await toFile(sized(2000), 'fits.jsonl'), purpose: 'batch' });
      expect(taken).toMatchObject({ bytes: 2000, status: 'processed' });
      await expect(openai.files.create({ file: await toFile(sized(2001), 'over.jsonl'), purpose: 'batch' })).rejects.toMatchObject({ status: 413 });
    } finally {
      await limited.gateway.close();
    }
  });
});

describe('a keys file', () => {
  const HELD_OPENAI = `sk-held-openai-${crypto.randomBytes(6).toString('hex')}`;
  const HELD_ANTHROPIC = `sk-ant-held-${crypto.randomBytes(6).toString('hex')}`;
  const KEY_A = `gw-tenant-a-${crypto.randomBytes(8).toString('hex')}`;
  const KEY_B = `gw-tenant-b-${crypto.randomBytes(8).toString('hex')}`;
  let keyed: { gateway: Gateway; base: string };

  beforeAll(async () => {
    keyed = await startGateway({
      keys: [
        { key: KEY_A, tenant: 'files-team-a', providers: { openai: { apiKey: HELD_OPENAI }, anthropic: { apiKey: HELD_ANTHROPIC } }, options: { maxRequestsPerPart: 10 } },
        { key: KEY_B, tenant: 'files-team-b' },
      ],
    });
  });
  afterAll(() => keyed.gateway.close());

  test("the tenant's options apply to its batches (three parts of 10); a caller's metadata cannot change them (a 400 naming the option)", async () => {
    const a = client(KEY_A, '/v1', keyed.base);
    const file = await upload(a, 30, 'opt');
    const withDefault = await untilTerminal(a, (await a.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })).id);
    expect(withDefault).toMatchObject({ status: 'completed', request_counts: { total: 30, completed: 30, failed: 0 } });
    expect((withDefault as unknown as { anybatch: { provider_batches: unknown[] } }).anybatch.provider_batches).toHaveLength(3);
    const overridden = await failure(a.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { anybatch_max_requests_per_part: '15' } }));
    expect(overridden).toBeInstanceOf(OpenAI.BadRequestError);
    expect((overridden as Error).message).toContain(`"maxRequestsPerPart" is set for this caller by the gateway's keys file`);
    // An option the tenant's entry does not set is still the caller's to choose.
    const chosen = await untilTerminal(a, (await a.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { anybatch_submit_concurrency: '1' } })).id);
    expect(chosen).toMatchObject({ status: 'completed', request_counts: { total: 30, completed: 30, failed: 0 } });
  });

  test("the held provider key reaches the provider, never the caller's gateway key; metadata cannot name another key or base; no key is in the store", async () => {
    const a = client(KEY_A, '/v1', keyed.base);
    for (const name of ['apiKey', 'apiBase']) {
      const refused = await failure(a.batches.create({ input_file_id: (await upload(a, 1, `ref-${name}`)).id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { [`anybatch_option_${name}`]: 'sk-chosen-by-caller' } }));
      expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    }
    const openaiRun = await keysReceivedFor(a, 'openai', (await upload(a, 20, 'held')).id);
    expect(openaiRun.batch.status).toBe('completed');
    expect(openaiRun.keys).toEqual([HELD_OPENAI]);

    const anthropic = client(KEY_A, '/anthropic/v1', keyed.base);
    const anthropicRun = await keysReceivedFor(anthropic, 'anthropic', (await upload(anthropic, 4, 'held-ant', 'claude-sonnet-4-5')).id);
    expect(anthropicRun.batch.status).toBe('completed');
    expect(anthropicRun.keys).toEqual([HELD_ANTHROPIC]);

    for (const secret of [KEY_A, HELD_OPENAI, HELD_ANTHROPIC]) expect(filesHolding(secret)).toEqual([]);
  });

  test("a tenant with no held key runs with the worker's own, never the caller's gateway key", async () => {
    const workerKey = `sk-worker-own-${crypto.randomBytes(6).toString('hex')}`;
    const previous = process.env.OPENAI_API_KEY;
    process.env.OPENAI_API_KEY = workerKey;
    try {
      const b = client(KEY_B, '/v1', keyed.base);
      const run = await keysReceivedFor(b, 'openai', (await upload(b, 10, 'own')).id);
      expect(run.batch.status).toBe('completed');
      expect(run.keys).toEqual([workerKey]);
      expect(filesHolding(KEY_B)).toEqual([]);
    } finally {
      if (previous === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = previous;
    }
  });
});

test("open mode: the caller's bearer token is the key that reaches the provider, and it is in no store object", async () => {
  const callerKey = `sk-open-caller-${crypto.randomBytes(8).toString('hex')}`;
  const openai = client(callerKey);
  const run = await keysReceivedFor(openai, 'openai', (await upload(openai, 20, 'open')).id);
  expect(run.batch.status).toBe('completed');
  expect(run.keys).toEqual([callerKey]);
  expect(filesHolding(callerKey)).toEqual([]);
  // The scan reads the store's objects: the batch's own lines are found.
  expect(filesHolding('"open-19"').length).toBeGreaterThan(0);
});

describe('closing', () => {
  test('close() lets a request in progress finish, and cuts one still unfinished after the grace: a stalled client does not hold the gateway open', async () => {
    const tempBefore = gatewayTemp();
    const closing = await startGateway(); // the default grace, 5 s: ample for the finishing upload on a slow machine
    const port = (closing.gateway.server.address() as AddressInfo).port;
    const finishing = await halfUpload(port, 'sk-close-finishing');
    const stalled = await halfUpload(port, 'sk-close-stalled');
    const closed = closing.gateway.close();
    finishing.rest();
    expect(await finishing.answer).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n[\s\S]*"object":"file"/);
    await closed;
    expect(await stalled.answer).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    // The cut upload's temporary folder goes too, with the gateway's own.
    await eventually(() => JSON.stringify(gatewayTemp()) === JSON.stringify(tempBefore));
  });
});

describe('anybatch serve, the process', () => {
  interface Served {
    child: ChildProcess;
    port: number;
    base: string;
    stdout: () => string;
    stderr: () => string;
    exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  }

  async function serve(args: string[]): Promise<Served> {
    const port = await freePort();
    const child = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--default-provider', 'openai', '--poll-interval', '200ms', ...args], {
      env: { ...process.env, TEMPORAL_ADDRESS: env.address, ANYBATCH_TASK_QUEUE: env.taskQueue, ANYBATCH_HOME: env.home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const base = await new Promise<string>((resolve, reject) => {
      const check = () => {
        const m = /anybatch gateway listening on (http:\/\/\S+)/.exec(stdout);
        if (m) resolve(m[1]!);
      };
      child.stdout!.on('data', check);
      void exited.then(({ code }) => reject(new Error(`anybatch serve exited with ${code} before listening: ${stdout}${stderr}`)));
    });
    return { child, port, base, stdout: () => stdout, stderr: () => stderr, exited };
  }

  /** Whether a TCP connection to host:port is taken (true) or refused (false). */
  const connects = (host: string, port: number) =>
    new Promise<boolean>((resolve, reject) => {
      const socket = net.connect({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNREFUSED' ? resolve(false) : reject(err)));
    });

  test('binds 127.0.0.1 by default (another address of this machine is refused), serves /healthz and the API, and ends cleanly on SIGTERM', async () => {
    const served = await serve([]);
    let ended = false;
    try {
      expect(served.base).toBe(`http://127.0.0.1:${served.port}`);
      expect(await fetch(`${served.base}/healthz`).then((r) => r.json())).toEqual({ status: 'ok' });

      // Another address of this machine, when it has one: a server bound to every interface answers there, this one not.
      const other = Object.values(os.networkInterfaces())
        .flat()
        .find((a) => a && !a.internal && a.family === 'IPv4')?.address;
      if (other) {
        const everywhere = net.createServer((s) => s.destroy());
        await new Promise<void>((resolve) => everywhere.listen(0, '0.0.0.0', resolve));
        try {
          expect(await connects(other, (everywhere.address() as AddressInfo).port)).toBe(true);
        } finally {
          await new Promise((resolve) => everywhere.close(resolve));
        }
        expect(await connects(other, served.port)).toBe(false);
      }
      expect(await connects('127.0.0.1', served.port)).toBe(true);

      // The process serves the API with the worker of this run: the whole flow through it.
      const openai = client('sk-serve-process', '/v1', served.base);
      const file = await upload(openai, 5, 'proc');
      const done = await untilTerminal(openai, (await openai.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })).id);
      expect(done.status).toBe('completed');
      expect(await customIds(openai, done.output_file_id)).toEqual(ids('proc', 5));

      // A client stalled mid-upload does not keep it from ending.
      const stalled = await halfUpload(served.port, 'sk-serve-stalled');
      served.child.kill('SIGTERM');
      expect(await served.exited).toEqual({ code: 0, signal: null });
      expect(await stalled.answer).toBe('HTTP/1.1 100 Continue\r\n\r\n');
      ended = true;
      expect(await connects('127.0.0.1', served.port)).toBe(false);
    } finally {
      if (!ended) served.child.kill('SIGKILL');
    }
  });
});
