/**
 * The client's store-backed staging: `validateInputFile(..., { stageInto })` streams the accepted lines and their
 * custom_ids into a blob store while it validates. The same cases run on a local folder store (the StagedFile
 * fast path) and on S3 (versitygw from the global setup; a PassThrough into a streamed put): a valid input is
 * staged with its ids, an invalid or missing one leaves nothing (no object, no unfinished multipart upload), an
 * unusable store fails without hanging, and memory stays flat on a large input.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { InputValidationError } from '../../src/errors';
import { PROVIDERS } from '../../src/providers/catalog';
import { LocalBlobStore, S3BlobStore, StorageError } from '../../src/storage';
import type { BlobStore, S3StoreConfig } from '../../src/storage';
import { layout } from '../../src/storage/layout';
import { validateInputFile } from '../../src/validation';
import type { ValidationTarget } from '../../src/validation';
import { freePort } from '../../src/temporal/devserver';
import { testS3Config } from '../support/s3';

const CHAT = '/v1/chat/completions';
const MiB = 1024 * 1024;

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-client-staging-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const opened: S3BlobStore[] = [];
afterAll(() => opened.forEach((s) => s.destroy()));

function s3Store(overrides: Partial<S3StoreConfig> = {}): S3BlobStore {
  const store = new S3BlobStore({ ...testS3Config(), prefix: `staging-${crypto.randomBytes(4).toString('hex')}`, partSize: 5 * MiB, queueSize: 2, ...overrides });
  opened.push(store);
  return store;
}

function localStore(): LocalBlobStore {
  return new LocalBlobStore({ root: fs.mkdtempSync(path.join(dir, 'home-')) });
}

function request(customId: string, content = 'Hi'): string {
  return JSON.stringify({ custom_id: customId, method: 'POST', url: CHAT, body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content }] } });
}

function target(): ValidationTarget {
  return { file: 'input.jsonl', endpoint: CHAT, capabilities: PROVIDERS.openai, enforceBatchLimits: false };
}

let files = 0;
function inputFile(content: string): string {
  const file = path.join(dir, `input-${++files}.jsonl`);
  fs.writeFileSync(file, content);
  return file;
}

/** A file of `n` requests of about `lineBytes` each, written as a stream (never whole in memory). */
async function bigInput(n: number, lineBytes: number, last?: string): Promise<string> {
  const file = path.join(dir, `big-${++files}.jsonl`);
  const out = fs.createWriteStream(file);
  const filler = 'x'.repeat(Math.max(0, lineBytes - 120));
  for (let i = 0; i < n; i++) {
    if (!out.write(request(`req-${i}`, filler) + '\n')) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  if (last !== undefined) out.write(last + '\n');
  await new Promise<void>((resolve, reject) => {
    out.once('error', reject);
    out.end(() => resolve());
  });
  return file;
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

async function keys(store: BlobStore): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.list('')) out.push(e.key);
  return out;
}

async function openUploads(store: BlobStore): Promise<number> {
  if (!(store instanceof S3BlobStore)) return 0;
  const out = await store.client.send(new ListMultipartUploadsCommand({ Bucket: store.bucket, Prefix: `${store.prefix}/` }));
  return out.Uploads?.length ?? 0;
}

/** Local folders also must hold no temp file: everything under the root, whatever its name. */
function localFiles(store: BlobStore): string[] {
  if (!(store instanceof LocalBlobStore)) return [];
  if (!fs.existsSync(store.root)) return [];
  return (fs.readdirSync(store.root, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(store.root, f)).isFile());
}

const ID = 'ab_test_staging';
const into = (store: BlobStore) => ({ store, inputKey: layout.input(ID), idsKey: layout.inputIds(ID) });

describe.each<[string, () => BlobStore]>([
  ['a local folder store', localStore],
  ['an S3 store', () => s3Store()],
])('staging into %s', (_, makeStore) => {
  test('a valid input is staged, with its ids, while it is validated', async () => {
    const store = makeStore();
    const lines = [request('a'), request('b'), request('c')];
    const result = await validateInputFile(inputFile(`\ufeff${lines.join('\r\n')}\r\n\n`), target(), { stageInto: into(store) });
    expect(result.requestCount).toBe(3);
    expect(await readAll(await store.get(layout.input(ID)))).toBe(lines.join('\n') + '\n');
    expect(await readAll(await store.get(layout.inputIds(ID)))).toBe('"a"\n"b"\n"c"\n');
    expect((await keys(store)).sort()).toEqual([layout.inputIds(ID), layout.input(ID)].sort());
    if (store instanceof LocalBlobStore) {
      // The fast path: exactly today's files, at the keys' paths.
      expect(result.stagedPath).toBe(path.join(store.root, 'inputs', `${ID}.jsonl`));
      expect(localFiles(store).sort()).toEqual([path.join('inputs', `${ID}.ids.jsonl`), path.join('inputs', `${ID}.jsonl`)]);
    } else {
      expect(result.stagedPath).toBe(store.uri(layout.input(ID)));
    }
  });

  test('a staged input that spans several parts is complete', async () => {
    const store = makeStore();
    const file = await bigInput(14_000, 1000); // ~14 MB: three 5 MiB parts on S3
    const result = await validateInputFile(file, target(), { stageInto: into(store) });
    expect(result.requestCount).toBe(14_000);
    const head = await store.head(layout.input(ID));
    expect(head?.size).toBe(fs.statSync(file).size);
    const ids = (await readAll(await store.get(layout.inputIds(ID)))).trimEnd().split('\n');
    expect(ids).toHaveLength(14_000);
    expect(ids[13_999]).toBe('"req-13999"');
  });

  test('an invalid input leaves nothing in the store', async () => {
    const store = makeStore();
    await expect(validateInputFile(inputFile([request('a'), request('a')].join('\n')), target(), { stageInto: into(store) })).rejects.toBeInstanceOf(InputValidationError);
    expect(await keys(store)).toEqual([]);
    expect(localFiles(store)).toEqual([]);
  });

  test('an input found invalid after several parts were sent leaves nothing either (the upload is aborted)', async () => {
    const store = makeStore();
    const file = await bigInput(14_000, 1000, '{"custom_id": "broken"');
    const err = await validateInputFile(file, target(), { stageInto: into(store) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputValidationError);
    expect((err as InputValidationError).issues[0]).toMatchObject({ line: 14_001 });
    expect(await keys(store)).toEqual([]);
    expect(localFiles(store)).toEqual([]);
    expect(await openUploads(store)).toBe(0);
  });

  test('a missing input leaves nothing in the store', async () => {
    const store = makeStore();
    await expect(validateInputFile(path.join(dir, 'no-such-file.jsonl'), target(), { stageInto: into(store) })).rejects.toBeInstanceOf(InputValidationError);
    expect(await keys(store)).toEqual([]);
    expect(localFiles(store)).toEqual([]);
  });
});

describe('staging into an unusable S3 store fails with a clear StorageError, never hangs', () => {
  test.each<[string, () => Promise<Partial<S3StoreConfig>>, string]>([
    ['a missing bucket', async () => ({ bucket: 'anybatch-no-such-bucket' }), 'storage_bucket_missing'],
    ['refused credentials', async () => ({ credentials: { ...testS3Config().credentials, secretAccessKey: 'wrong-secret-value' } }), 'storage_access_denied'],
    ['an unreachable endpoint', async () => ({ endpoint: `http://127.0.0.1:${await freePort()}` }), 'storage_unreachable'],
  ])('%s, on a small and on a large input', async (_, overrides, code) => {
    const store = s3Store({ ...(await overrides()), maxAttempts: 1 });
    for (const file of [inputFile(request('a') + '\n'), await bigInput(14_000, 1000)]) {
      const started = Date.now();
      const err = await validateInputFile(file, target(), { stageInto: into(store) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageError);
      expect(err).toMatchObject({ code });
      expect((err as Error).message).not.toContain('wrong-secret-value');
      expect(Date.now() - started).toBeLessThan(15_000);
    }
  }, 60_000);
});

describe('memory stays flat', () => {
  test('a 200 MB input streams into S3 without being held in memory', async () => {
    const file = await bigInput(200_000, 1000);
    const size = fs.statSync(file).size;
    const store = s3Store();
    // Warm up (SDK, sockets, the heap's steady size while validating), so the baseline includes them.
    const warm = await bigInput(30_000, 1000);
    await validateInputFile(warm, target(), { stageInto: { store, inputKey: 'warm.jsonl', idsKey: 'warm.ids.jsonl' } });
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    try {
      const result = await validateInputFile(file, target(), { stageInto: into(store) });
      expect(result.requestCount).toBe(200_000);
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    expect((await store.head(layout.input(ID)))?.size).toBe(size);
    // Two puts of 5 MiB x 2 parts in flight, stream buffers and garbage (35-65 MB measured): far below the input's size.
    const grewMb = (peak - before) / MiB;
    expect(grewMb).toBeLessThan(size / MiB / 2);
    fs.rmSync(file);
    fs.rmSync(warm);
  }, 120_000);
});
