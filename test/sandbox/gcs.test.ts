/**
 * The gcs module: the Cloud Storage JSON API v1 subset at `<url>/gcs` (what `STORAGE_EMULATOR_HOST` is set to),
 * driven with plain fetch: buckets, media and multipart uploads, metadata, `alt=media` downloads (byte-exact, 5 MB
 * streamed both ways), listing by prefix and delimiter with paging, delete, and refusals in the JSON API's shape.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { startSandbox, type Sandbox } from '../../src/sandbox';

let sandbox: Sandbox;
let base: string;

beforeAll(async () => {
  sandbox = await startSandbox({ gcsBuckets: ['anybatch-sandbox', 'second-bucket'] });
  base = sandbox.baseUrls.gcs;
});

afterAll(async () => {
  await sandbox.close();
});

const AUTH = { authorization: 'Bearer fake-token' };
const enc = encodeURIComponent;

function gcs(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${base}${path}`, { ...init, headers: { ...AUTH, ...(init.headers as Record<string, string> | undefined) } });
}

async function uploadMedia(bucket: string, name: string, body: string | Buffer, contentType = 'application/jsonl'): Promise<Record<string, string>> {
  const res = await gcs(`/upload/storage/v1/b/${bucket}/o?uploadType=media&name=${enc(name)}`, { method: 'POST', headers: { 'content-type': contentType }, body });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, string>;
}

const md5 = (data: Buffer): string => createHash('md5').update(data).digest('base64');

test('the base URL is <url>/gcs, the STORAGE_EMULATOR_HOST for Google libraries', () => {
  expect(sandbox.baseUrls.gcs).toBe(`${sandbox.url}/gcs`);
});

describe('buckets', () => {
  test('the gcsBuckets setting makes its buckets; insert makes another; get returns it', async () => {
    const preset = await gcs('/storage/v1/b/second-bucket');
    expect(preset.status).toBe(200);
    expect(await preset.json()).toMatchObject({ kind: 'storage#bucket', name: 'second-bucket', id: 'second-bucket' });

    const made = await gcs('/storage/v1/b?project=my-project', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'fresh-bucket' }) });
    expect(made.status).toBe(200);
    const bucket = (await made.json()) as Record<string, string>;
    expect(bucket).toMatchObject({ kind: 'storage#bucket', name: 'fresh-bucket', storageClass: 'STANDARD' });
    expect(Number.isNaN(Date.parse(bucket.timeCreated))).toBe(false);
    expect(await (await gcs('/storage/v1/b/fresh-bucket')).json()).toEqual(bucket);

    const listed = (await (await gcs('/storage/v1/b?project=my-project')).json()) as { items: Array<{ name: string }> };
    expect(listed.items.map((b) => b.name)).toEqual(['anybatch-sandbox', 'fresh-bucket', 'second-bucket']);
  });

  test('a gcsBuckets setting with an invalid bucket name is refused', async () => {
    await expect(startSandbox({ gcsBuckets: ['Not A Bucket'] })).rejects.toThrow(/gcsBuckets holds an invalid bucket name: Not A Bucket/);
  });

  test('a second insert of a name is a 409 conflict; a bad name a 400; no project a 400', async () => {
    const again = await gcs('/storage/v1/b?project=p', { method: 'POST', body: JSON.stringify({ name: 'second-bucket' }) });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { errors: Array<{ reason: string }> } }).error.errors[0].reason).toBe('conflict');
    const bad = await gcs('/storage/v1/b?project=p', { method: 'POST', body: JSON.stringify({ name: 'Not_A-Valid.Name!' }) });
    expect(bad.status).toBe(400);
    const noProject = await gcs('/storage/v1/b', { method: 'POST', body: JSON.stringify({ name: 'other-bucket' }) });
    expect([noProject.status, ((await noProject.json()) as { error: { errors: Array<{ reason: string }> } }).error.errors[0].reason]).toEqual([400, 'required']);
  });

  test('a bucket that does not exist is a 404 notFound in the JSON API error shape, for get, list and upload', async () => {
    const expected = { error: { code: 404, message: 'The specified bucket does not exist.', errors: [{ message: 'The specified bucket does not exist.', domain: 'global', reason: 'notFound' }] } };
    for (const [path, method] of [
      ['/storage/v1/b/no-such-bucket', 'GET'],
      ['/storage/v1/b/no-such-bucket/o', 'GET'],
      ['/upload/storage/v1/b/no-such-bucket/o?uploadType=media&name=x', 'POST'],
    ]) {
      const res = await gcs(path, { method, body: method === 'POST' ? 'data' : undefined });
      expect([res.status, await res.json()]).toEqual([404, expected]);
    }
  });
});

describe('objects', () => {
  test('media upload: the object resource as GCS returns it; metadata by the %-encoded name; alt=media byte-exact', async () => {
    const content = Buffer.from('{"a":1}\n{"b":2}\n');
    const name = 'in/nested dir/x.jsonl';
    const object = await uploadMedia('anybatch-sandbox', name, content);
    expect(object).toMatchObject({
      kind: 'storage#object',
      name,
      bucket: 'anybatch-sandbox',
      size: String(content.length),
      md5Hash: md5(content),
      contentType: 'application/jsonl',
      metageneration: '1',
    });
    expect(object.generation).toMatch(/^\d+$/);
    expect(object.id).toBe(`anybatch-sandbox/${name}/${object.generation}`);
    expect(object.timeCreated).toBe(object.updated);

    const meta = await gcs(`/storage/v1/b/anybatch-sandbox/o/${enc(name)}`);
    expect(await meta.json()).toEqual(object);

    for (const path of [`/storage/v1/b/anybatch-sandbox/o/${enc(name)}?alt=media`, `/download/storage/v1/b/anybatch-sandbox/o/${enc(name)}?alt=media`]) {
      const res = await gcs(path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/jsonl');
      expect(res.headers.get('x-goog-hash')).toBe(`md5=${md5(content)}`);
      expect(Buffer.from(await res.arrayBuffer())).toEqual(content);
    }
    // The mediaLink is an absolute URL on the mount the request came through.
    const viaLink = await fetch(object.mediaLink, { headers: AUTH });
    expect(Buffer.from(await viaLink.arrayBuffer())).toEqual(content);
  });

  test('a second upload of a name is a new generation; the old generation is gone', async () => {
    const first = await uploadMedia('anybatch-sandbox', 'gen/obj', 'one');
    const second = await uploadMedia('anybatch-sandbox', 'gen/obj', 'two!');
    expect(BigInt(second.generation)).toBeGreaterThan(BigInt(first.generation));
    expect(second.size).toBe('4');
    expect(await (await gcs(`/storage/v1/b/anybatch-sandbox/o/gen%2Fobj?alt=media`)).text()).toBe('two!');
    expect((await fetch(first.mediaLink, { headers: AUTH })).status).toBe(404);
  });

  test('multipart upload as google-cloud-storage sends it: a quoted boundary, JSON metadata, then the media', async () => {
    const boundary = '===============7330845974216740156==';
    const media = Buffer.concat([Buffer.from('line one\r\n--not the boundary\r\n'), randomBytes(1000)]);
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\ncontent-type: application/json; charset=UTF-8\r\n\r\n`),
      Buffer.from(JSON.stringify({ name: 'multi/part.bin', contentType: 'application/octet-stream', metadata: { owner: 'test' } })),
      Buffer.from(`\r\n--${boundary}\r\ncontent-type: text/plain\r\n\r\n`),
      media,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const res = await gcs('/upload/storage/v1/b/anybatch-sandbox/o?uploadType=multipart', {
      method: 'POST',
      headers: { 'content-type': `multipart/related; boundary="${boundary}"` },
      body,
    });
    expect(res.status).toBe(200);
    const object = (await res.json()) as Record<string, unknown>;
    expect(object).toMatchObject({ name: 'multi/part.bin', size: String(media.length), md5Hash: md5(media), contentType: 'application/octet-stream', metadata: { owner: 'test' } });
    const down = await gcs(`/download/storage/v1/b/anybatch-sandbox/o/${enc('multi/part.bin')}?alt=media`);
    expect(Buffer.from(await down.arrayBuffer())).toEqual(media);
  });

  test('a multipart body without its closing boundary is refused and stores nothing', async () => {
    const boundary = 'b0undary';
    const body = `--${boundary}\r\ncontent-type: application/json\r\n\r\n{"name":"broken.txt"}\r\n--${boundary}\r\ncontent-type: text/plain\r\n\r\nno end`;
    const res = await gcs('/upload/storage/v1/b/anybatch-sandbox/o?uploadType=multipart', { method: 'POST', headers: { 'content-type': `multipart/related; boundary=${boundary}` }, body });
    expect(res.status).toBe(400);
    expect((await gcs('/storage/v1/b/anybatch-sandbox/o/broken.txt')).status).toBe(404);
  });

  test('a 5 MB object streams in and out byte-exact, its md5Hash that of the bytes', async () => {
    const data = randomBytes(5 * 1024 * 1024);
    const chunks = Array.from({ length: 80 }, (_, i) => data.subarray(i * 65536, (i + 1) * 65536));
    const res = await gcs(`/upload/storage/v1/b/second-bucket/o?uploadType=media&name=big.bin`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Readable.toWeb(Readable.from(chunks)) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ size: String(data.length), md5Hash: md5(data) });
    const down = await gcs('/storage/v1/b/second-bucket/o/big.bin?alt=media');
    expect(down.headers.get('content-length')).toBe(String(data.length));
    const got = Buffer.from(await down.arrayBuffer());
    expect(got.length).toBe(data.length);
    expect(got.equals(data)).toBe(true);
  });

  test('delete answers 204; the object is then a 404 notFound, and so is a second delete', async () => {
    await uploadMedia('second-bucket', 'doomed.txt', 'bye');
    const gone = await gcs('/storage/v1/b/second-bucket/o/doomed.txt', { method: 'DELETE' });
    expect([gone.status, await gone.text()]).toEqual([204, '']);
    const expected = { error: { code: 404, message: 'No such object: second-bucket/doomed.txt', errors: [{ message: 'No such object: second-bucket/doomed.txt', domain: 'global', reason: 'notFound' }] } };
    for (const [path, method] of [
      ['/storage/v1/b/second-bucket/o/doomed.txt', 'GET'],
      ['/storage/v1/b/second-bucket/o/doomed.txt?alt=media', 'GET'],
      ['/storage/v1/b/second-bucket/o/doomed.txt', 'DELETE'],
    ]) {
      const res = await gcs(path, { method });
      expect([res.status, await res.json()]).toEqual([404, expected]);
    }
  });
});

describe('listing', () => {
  const NAMES = ['list/a/1.jsonl', 'list/a/2.jsonl', 'list/a/deep/3.jsonl', 'list/b.jsonl', 'list/c/4.jsonl', 'other/5.jsonl'];

  beforeAll(async () => {
    await gcs('/storage/v1/b?project=p', { method: 'POST', body: JSON.stringify({ name: 'list-bucket' }) });
    for (const name of [...NAMES].reverse()) await uploadMedia('list-bucket', name, name);
  });

  async function list(query: string): Promise<{ items?: Array<{ name: string }>; prefixes?: string[]; nextPageToken?: string }> {
    const res = await gcs(`/storage/v1/b/list-bucket/o?${query}`);
    expect(res.status).toBe(200);
    return (await res.json()) as { items?: Array<{ name: string }>; prefixes?: string[]; nextPageToken?: string };
  }

  test('by prefix, in name order', async () => {
    const page = await list('prefix=list/a/');
    expect(page.items?.map((o) => o.name)).toEqual(['list/a/1.jsonl', 'list/a/2.jsonl', 'list/a/deep/3.jsonl']);
    expect(page.prefixes).toBeUndefined();
    expect(page.nextPageToken).toBeUndefined();
  });

  test('with a delimiter, names below the next one roll up into prefixes', async () => {
    const page = await list('prefix=list/&delimiter=/');
    expect(page.items?.map((o) => o.name)).toEqual(['list/b.jsonl']);
    expect(page.prefixes).toEqual(['list/a/', 'list/c/']);
  });

  test('paging with maxResults and pageToken visits every object once, in order', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await list(`maxResults=2${token ? `&pageToken=${enc(token)}` : ''}`);
      expect((page.items ?? []).length).toBeLessThanOrEqual(2);
      seen.push(...(page.items ?? []).map((o) => o.name));
      token = page.nextPageToken;
      pages++;
    } while (token);
    expect(seen).toEqual([...NAMES].sort());
    expect(pages).toBe(3);
  });

  test('prefixes count toward maxResults and page like objects', async () => {
    const first = await list('prefix=list/&delimiter=/&maxResults=2');
    expect([first.prefixes, first.items?.map((o) => o.name)]).toEqual([['list/a/'], ['list/b.jsonl']]);
    const second = await list(`prefix=list/&delimiter=/&maxResults=2&pageToken=${enc(first.nextPageToken!)}`);
    expect([second.prefixes, second.items, second.nextPageToken]).toEqual([['list/c/'], undefined, undefined]);
  });

  test('an empty listing has neither items nor prefixes', async () => {
    expect(await list('prefix=nothing-here/')).toEqual({ kind: 'storage#objects' });
  });
});

describe('credentials', () => {
  test('a request with no credential is a 401 in the JSON API shape; any bearer token or x-goog-api-key is accepted', async () => {
    const anonymous = await fetch(`${base}/storage/v1/b/anybatch-sandbox/o`);
    expect(anonymous.status).toBe(401);
    const message = "Anonymous caller does not have storage.objects.list access to the Google Cloud Storage bucket. Permission 'storage.objects.list' denied on resource (or it may not exist).";
    expect(await anonymous.json()).toEqual({ error: { code: 401, message, errors: [{ message, domain: 'global', reason: 'required' }] } });
    expect((await fetch(`${base}/storage/v1/b/anybatch-sandbox/o`, { headers: { 'x-goog-api-key': 'any' } })).status).toBe(200);
    expect((await fetch(`${base}/storage/v1/b/anybatch-sandbox/o`, { headers: { authorization: 'Bearer ya29.whatever' } })).status).toBe(200);
  });
});

test('stats: uploads as filesCreated, and what the store holds', async () => {
  const before = sandbox.stats().providers.gcs;
  await uploadMedia('second-bucket', 'counted.txt', '12345');
  const after = sandbox.stats().providers.gcs;
  expect(after.filesCreated).toBe(before.filesCreated + 1);
  expect(after.storage).toEqual({ buckets: before.storage!.buckets, objects: before.storage!.objects + 1, bytes: before.storage!.bytes + 5 });
  expect([after.batchesCreated, after.batchCancels, after.batchesByStatus]).toEqual([0, 0, {}]);
});
