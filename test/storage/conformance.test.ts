/**
 * One conformance suite for both blob stores: the local folder and S3 (versitygw started by the global
 * setup, in both checksum modes). Then what only S3 has: clear errors for a missing bucket, refused
 * credentials and an unreachable endpoint.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import {
  BlobExistsError,
  BlobNotFoundError,
  InvalidKeyError,
  LocalBlobStore,
  S3BlobStore,
  StorageError,
  checkStore,
} from '../../src/storage';
import type { BlobStore, S3StoreConfig } from '../../src/storage';
import { freePort } from '../../src/temporal/devserver';
import { testS3Config } from '../support/s3';

const MiB = 1024 * 1024;
const PART = 5 * MiB;
const BIG = 12 * MiB; // more than two 5 MiB parts

function s3Store(overrides: Partial<S3StoreConfig> = {}): S3BlobStore {
  const env = testS3Config();
  return new S3BlobStore({
    ...env,
    prefix: `conformance-${crypto.randomBytes(4).toString('hex')}`,
    partSize: PART,
    queueSize: 2,
    pageSize: 3,
    ...overrides,
  });
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

/** `data` as a stream of 64 KiB chunks (no known length, as a result writer's stream). */
function streamOf(data: Buffer, chunk = 64 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += chunk) yield data.subarray(i, i + chunk);
    })(),
  );
}

/** A stream that yields `bytes` bytes and then fails. */
function failingStream(bytes: number): Readable {
  return Readable.from(
    (async function* () {
      const block = crypto.randomBytes(256 * 1024);
      for (let sent = 0; sent < bytes; sent += block.length) yield block.subarray(0, Math.min(block.length, bytes - sent));
      await new Promise((r) => setTimeout(r, 10));
      throw new Error('source failed mid-way');
    })(),
  );
}

async function keys(store: BlobStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.list(prefix)) out.push(e.key);
  return out;
}

const BIG_DATA = crypto.randomBytes(BIG);

interface Impl {
  name: string;
  open(): BlobStore;
  /** What else a failed write must not leave behind (S3: an in-progress multipart upload). */
  assertNoLeftovers?(store: BlobStore, key: string): Promise<void>;
}

async function noMultipartUploads(store: BlobStore, key: string): Promise<void> {
  const s3 = store as S3BlobStore;
  const out = await s3.client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket, Prefix: `${s3.prefix}/${key}` }));
  expect(out.Uploads ?? []).toEqual([]);
}

const localRoots: string[] = [];
const impls: Impl[] = [
  {
    name: 'local folder',
    open: () => {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-store-'));
      localRoots.push(root);
      return new LocalBlobStore(root);
    },
  },
  { name: 'S3 on versitygw (checksums WHEN_REQUIRED)', open: () => s3Store({ checksumMode: 'WHEN_REQUIRED' }), assertNoLeftovers: noMultipartUploads },
  { name: 'S3 on versitygw (checksums WHEN_SUPPORTED)', open: () => s3Store({ checksumMode: 'WHEN_SUPPORTED' }), assertNoLeftovers: noMultipartUploads },
];

afterAll(() => {
  for (const r of localRoots) fs.rmSync(r, { recursive: true, force: true });
});

describe.each(impls)('blob store conformance: $name', (impl) => {
  let store: BlobStore;

  beforeAll(() => {
    store = impl.open();
  });

  afterAll(async () => {
    if (store instanceof S3BlobStore) {
      for (const k of await keys(store, '')) await store.delete(k);
      store.destroy();
    }
  });

  test('checkStore passes and leaves no probe object', async () => {
    await checkStore(store);
    expect(await keys(store, '_probe/')).toEqual([]);
  });

  test('round trip: empty, small and multi-part streamed bodies', async () => {
    expect(await store.put('rt/empty-buffer', Buffer.alloc(0))).toMatchObject({ size: 0 });
    expect(await store.put('rt/empty-stream', Readable.from([]))).toMatchObject({ size: 0 });
    expect(await store.put('rt/small.txt', 'héllo wörld\n', { contentType: 'text/plain' })).toMatchObject({ size: 14 });
    const big = await store.put('rt/big.bin', streamOf(BIG_DATA));
    expect(big.size).toBe(BIG);

    expect((await readAll(await store.get('rt/empty-buffer'))).length).toBe(0);
    expect((await readAll(await store.get('rt/empty-stream'))).length).toBe(0);
    expect((await readAll(await store.get('rt/small.txt'))).toString()).toBe('héllo wörld\n');
    const back = await readAll(await store.get('rt/big.bin'));
    expect(back.length).toBe(BIG);
    expect(back.equals(BIG_DATA)).toBe(true);

    const head = await store.head('rt/big.bin');
    expect(head).toMatchObject({ size: BIG });
    expect(Object.prototype.toString.call(head!.modifiedAt)).toBe('[object Date]'); // (fs makes Dates of another realm under jest)
    expect(Math.abs(head!.modifiedAt.getTime() - Date.now())).toBeLessThan(5 * 60_000);
    expect(await store.head('rt/empty-stream')).toMatchObject({ size: 0 });
  });

  test('ranged get, across a part boundary, clamped at the end, empty past it', async () => {
    await store.put('range/big.bin', BIG_DATA);
    const get = async (start: number, end?: number) => readAll(await store.get('range/big.bin', { start, end }));
    expect((await get(0, 0)).equals(BIG_DATA.subarray(0, 1))).toBe(true);
    expect((await get(PART - 10, PART + 10)).equals(BIG_DATA.subarray(PART - 10, PART + 11))).toBe(true);
    expect((await get(BIG - 100)).equals(BIG_DATA.subarray(BIG - 100))).toBe(true);
    expect((await get(BIG - 5, BIG + 1000)).equals(BIG_DATA.subarray(BIG - 5))).toBe(true);
    expect((await get(BIG)).length).toBe(0);
    expect((await get(BIG + 10, BIG + 20)).length).toBe(0);
    await store.put('range/empty', '');
    expect((await readAll(await store.get('range/empty', { start: 0 }))).length).toBe(0);
    await expect(store.get('range/big.bin', { start: -1 })).rejects.toThrow(/start must be/);
    await expect(store.get('range/big.bin', { start: 5, end: 2 })).rejects.toThrow(/end must be/);
    await expect(store.get('range/missing', { start: 0, end: 1 })).rejects.toBeInstanceOf(BlobNotFoundError);
  });

  test('head of a missing key is null', async () => {
    expect(await store.head('head/missing')).toBeNull();
    expect(await store.head('head/missing/deeper')).toBeNull();
  });

  test('list by prefix, over several pages, in key order', async () => {
    const listed = ['list/a', 'list/b', 'list/c-1', 'list/c/d', 'list/c/e', 'list/f.txt', 'list/sub/x', 'list/sub/y/z'];
    const others = ['list-other', 'listx/y', 'lis'];
    for (const k of [...listed].reverse().concat(others)) await store.put(k, k);
    expect(await keys(store, 'list/')).toEqual(listed); // 8 keys, 3 per page on S3
    expect(await keys(store, 'list/c')).toEqual(['list/c-1', 'list/c/d', 'list/c/e']);
    expect(await keys(store, 'list/sub/')).toEqual(['list/sub/x', 'list/sub/y/z']);
    expect(await keys(store, 'list')).toEqual(['list-other', ...listed, 'listx/y']);
    expect(await keys(store, 'nothing-here/')).toEqual([]);
    const all = await keys(store, '');
    expect(all).toEqual(expect.arrayContaining([...listed, ...others]));
    const sizes: Record<string, number> = {};
    for await (const e of store.list('list/sub/')) sizes[e.key] = e.size;
    expect(sizes).toEqual({ 'list/sub/x': 10, 'list/sub/y/z': 12 });
    // A cursor: only the keys after it, across pages, whether or not it is a key itself.
    const after = async (prefix: string, startAfter: string) => {
      const out: string[] = [];
      for await (const e of store.list(prefix, { startAfter })) out.push(e.key);
      return out;
    };
    expect(await after('list/', 'list/b')).toEqual(['list/c-1', 'list/c/d', 'list/c/e', 'list/f.txt', 'list/sub/x', 'list/sub/y/z']);
    expect(await after('list/', 'list/c/d')).toEqual(['list/c/e', 'list/f.txt', 'list/sub/x', 'list/sub/y/z']);
    expect(await after('list/', 'list/c0')).toEqual(['list/f.txt', 'list/sub/x', 'list/sub/y/z']); // '/' sorts before '0'
    expect(await after('list/', 'list/zzz')).toEqual([]);
  });

  test('delete is idempotent', async () => {
    await store.delete('del/never-there');
    await store.put('del/k', 'x');
    await store.delete('del/k');
    expect(await store.head('del/k')).toBeNull();
    await expect(store.get('del/k')).rejects.toBeInstanceOf(BlobNotFoundError);
    await store.delete('del/k');
    expect(await keys(store, 'del/')).toEqual([]);
  });

  test('conditional create refuses an existing key and leaves it unchanged', async () => {
    await store.put('cond/k', 'first', { ifNoneMatch: true });
    const err = await store.put('cond/k', 'second', { ifNoneMatch: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlobExistsError);
    expect((err as BlobExistsError).code).toBe('blob_exists');
    expect((err as Error).message).toContain(store.uri('cond/k'));
    // A multipart body is refused too (If-None-Match on CompleteMultipartUpload).
    await expect(store.put('cond/k', streamOf(BIG_DATA), { ifNoneMatch: true })).rejects.toBeInstanceOf(BlobExistsError);
    expect((await readAll(await store.get('cond/k'))).toString()).toBe('first');
    await store.put('cond/big', streamOf(BIG_DATA), { ifNoneMatch: true });
    expect(await store.head('cond/big')).toMatchObject({ size: BIG });
    expect(await keys(store, 'cond/')).toEqual(['cond/big', 'cond/k']);
  });

  test('concurrent conditional creates of one key: exactly one wins', async () => {
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => store.put('race/k', `writer ${i}`, { ifNoneMatch: true })));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(BlobExistsError);
    expect((await readAll(await store.get('race/k'))).toString()).toMatch(/^writer \d$/);
  });

  test('a plain put overwrites', async () => {
    await store.put('over/k', 'a');
    await store.put('over/k', 'bb');
    expect((await readAll(await store.get('over/k'))).toString()).toBe('bb');
    await store.put('over/k', streamOf(BIG_DATA));
    expect(await store.head('over/k')).toMatchObject({ size: BIG });
    await store.put('over/k', 'ccc');
    expect(await store.head('over/k')).toMatchObject({ size: 3 });
  });

  test.each([
    ['within the first part', MiB],
    ['after more than one part', PART + 2 * MiB],
  ])('a body that fails %s leaves no object, temp file or upload', async (_, bytes) => {
    const key = `fail-${bytes}/new`;
    await expect(store.put(key, failingStream(bytes))).rejects.toThrow('source failed mid-way');
    expect(await store.head(key)).toBeNull();
    await expect(store.get(key)).rejects.toBeInstanceOf(BlobNotFoundError);
    expect(await keys(store, `fail-${bytes}/`)).toEqual([]);
    await impl.assertNoLeftovers?.(store, key);
    if (store instanceof LocalBlobStore) expect(fs.readdirSync(path.dirname(store.pathOf(key)))).toEqual([]);

    // Over an existing object: the old one stays whole.
    await store.put(`fail-${bytes}/old`, 'old content');
    await expect(store.put(`fail-${bytes}/old`, failingStream(bytes))).rejects.toThrow('source failed mid-way');
    expect((await readAll(await store.get(`fail-${bytes}/old`))).toString()).toBe('old content');
    expect(await keys(store, `fail-${bytes}/`)).toEqual([`fail-${bytes}/old`]);
  });

  test('an aborted put leaves no object', async () => {
    const controller = new AbortController();
    const body = Readable.from(
      (async function* () {
        const block = crypto.randomBytes(MiB);
        for (let i = 0; i < 64; i++) {
          if (i === 7) controller.abort();
          yield block;
          await new Promise((r) => setTimeout(r, 1));
        }
      })(),
    );
    const err = await store.put('abort/k', body, { signal: controller.signal }).catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    expect(await store.head('abort/k')).toBeNull();
    expect(await keys(store, 'abort/')).toEqual([]);
    await impl.assertNoLeftovers?.(store, 'abort/k');
    await expect(store.put('abort/k2', 'x', { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(await store.head('abort/k2')).toBeNull();
  });

  test.each(['', '/abs', 'a//b', 'a/', 'a/../b', '..', './a', 'a/.', 'a\\b', 'a\u0000b', 'tab\there', '.anybatch-tmp-x', `${'x'.repeat(1025)}`])(
    'key %j is refused with a clear error',
    async (key) => {
      expect(() => store.uri(key)).toThrow(InvalidKeyError);
      expect(() => store.uri(key)).toThrow(/^Invalid storage key /);
      await expect(store.put(key, 'x')).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.get(key)).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.head(key)).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.delete(key)).rejects.toBeInstanceOf(InvalidKeyError);
    },
  );

  test('a list prefix is validated too', async () => {
    await expect(keys(store, '/abs')).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(keys(store, 'a//')).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(keys(store, '../')).rejects.toBeInstanceOf(InvalidKeyError);
  });

  test("every key's URI is the store's root URI followed by the key", () => {
    const root = store.rootUri();
    expect(root).toMatch(store.kind === 'local' ? /^file:\/\/\/.+\/$/ : /^s3:\/\/[^/]+\/(.+\/)?$/);
    expect(store.uri('inputs/ab_1.jsonl')).toBe(`${root}inputs/ab_1.jsonl`);
  });

  test('a missing key is a BlobNotFoundError naming its URI', async () => {
    const err = await store.get('missing/key.jsonl').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlobNotFoundError);
    expect((err as BlobNotFoundError).code).toBe('blob_not_found');
    expect((err as BlobNotFoundError).uri).toBe(store.uri('missing/key.jsonl'));
    expect((err as Error).message).toBe(`No object at ${store.uri('missing/key.jsonl')}.`);
  });

  test('localFile names the file an object is (a local folder) or nothing (S3); removeFolder leaves no trace of a prefix', async () => {
    await store.put('rmdir/x/a.jsonl', 'a\n');
    await store.put('rmdir/y.jsonl', 'y\n');
    if (store instanceof LocalBlobStore) {
      expect(store.localFile('rmdir/x/a.jsonl')).toBe(path.join(store.root, 'rmdir', 'x', 'a.jsonl'));
      expect(fs.readFileSync(store.localFile('rmdir/x/a.jsonl')!, 'utf8')).toBe('a\n');
      fs.writeFileSync(path.join(store.root, 'rmdir', 'x', '.anybatch-tmp-left'), 'left by a crash');
    } else {
      expect(store.localFile('rmdir/x/a.jsonl')).toBeNull();
    }
    expect(() => store.localFile('../x')).toThrow(InvalidKeyError);
    await store.delete('rmdir/x/a.jsonl');
    await store.removeFolder('rmdir/x/');
    expect(await keys(store, 'rmdir/')).toEqual(['rmdir/y.jsonl']);
    if (store instanceof LocalBlobStore) expect(fs.readdirSync(path.join(store.root, 'rmdir'))).toEqual(['y.jsonl']);
    await store.removeFolder('rmdir/x/'); // gone already: fine
    await store.delete('rmdir/y.jsonl');
  });

  test('uri and describe', () => {
    if (store instanceof LocalBlobStore) {
      expect(store.uri('a/b c.txt')).toBe(`file://${store.root}/a/b%20c.txt`);
      expect(store.describe()).toBe(`local folder ${store.root}`);
    } else {
      const s3 = store as S3BlobStore;
      expect(s3.uri('a/b c.txt')).toBe(`s3://${s3.bucket}/${s3.prefix}/a/b c.txt`);
      expect(s3.describe()).toBe(`S3 bucket "${s3.bucket}" (prefix ${s3.prefix}/) at ${new URL(testS3Config().endpoint).host}`);
    }
  });
});

describe('S3 conditional create without If-None-Match (head-check fallback)', () => {
  test('refuses an existing key', async () => {
    const store = s3Store({ conditionalCreate: 'head-check' });
    try {
      await store.put('k', 'first', { ifNoneMatch: true });
      await expect(store.put('k', 'second', { ifNoneMatch: true })).rejects.toBeInstanceOf(BlobExistsError);
      expect((await readAll(await store.get('k'))).toString()).toBe('first');
      await store.delete('k');
    } finally {
      store.destroy();
    }
  });
});

describe('S3 errors are clear and fast', () => {
  const opened: S3BlobStore[] = [];
  const open = (o: Partial<S3StoreConfig>) => {
    const s = s3Store(o);
    opened.push(s);
    return s;
  };
  afterAll(() => opened.forEach((s) => s.destroy()));
  const host = () => new URL(testS3Config().endpoint).host;

  test('a missing bucket', async () => {
    const store = open({ bucket: 'anybatch-no-such-bucket' });
    for (const attempt of [() => checkStore(store), () => store.put('k', 'x'), () => store.get('k'), () => store.head('k'), () => keys(store, '')]) {
      const err = await attempt().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageError);
      expect(err).toMatchObject({ code: 'storage_bucket_missing' });
      expect((err as Error).message).toContain('"anybatch-no-such-bucket" does not exist at ' + host());
    }
  }, 10_000);

  test.each([
    ['a wrong secret', { secretAccessKey: 'wrong-secret-value' }, 'SignatureDoesNotMatch'],
    ['an unknown access key', { accessKeyId: 'UNKNOWNKEYID' }, 'InvalidAccessKeyId|XAdminUserNotFound'],
  ])('refused credentials: %s', async (_, creds, name) => {
    const credentials = { ...testS3Config().credentials, ...creds };
    const store = open({ credentials });
    for (const attempt of [() => checkStore(store), () => store.put('k', 'x'), () => store.get('k'), () => keys(store, '')]) {
      const err = await attempt().catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'storage_access_denied' });
      const message = (err as Error).message;
      expect(message).toContain(`The S3 endpoint ${host()} refused the credentials`);
      expect(message).toContain('bucket "anybatch-test"');
      expect(message).toMatch(new RegExp(`\\((${name}|HTTP 403)\\)`));
      expect(message).not.toContain(credentials.secretAccessKey);
      expect(message).not.toContain(credentials.accessKeyId);
    }
  }, 10_000);

  test('an unreachable endpoint', async () => {
    const port = await freePort();
    const store = open({ endpoint: `http://127.0.0.1:${port}` });
    for (const attempt of [() => checkStore(store), () => store.put('k', streamOf(BIG_DATA)), () => store.get('k'), () => store.head('k')]) {
      const err = await attempt().catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'storage_unreachable' });
      expect((err as Error).message).toContain(`Cannot reach the S3 endpoint 127.0.0.1:${port} (ECONNREFUSED)`);
    }
  }, 10_000);

  test('the key in messages is the full key under the prefix', async () => {
    const store = open({ bucket: 'anybatch-no-such-bucket', prefix: 'p/q' });
    await expect(store.put('a/b', 'x')).rejects.toThrow('(write p/q/a/b)');
  });
});
