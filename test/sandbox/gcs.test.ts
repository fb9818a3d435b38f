/**
 * The gcs module: the Cloud Storage JSON API v1 subset at `<url>/gcs` (what `STORAGE_EMULATOR_HOST` is set to),
 * driven with plain fetch: buckets, media, multipart and resumable uploads, metadata with `md5Hash` and `crc32c`,
 * `alt=media` downloads (byte-exact, 5 MB streamed both ways, `Range` requests), listing by prefix and delimiter with
 * paging, delete, request preconditions (`ifGenerationMatch`...), and refusals in the JSON API's shape.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { Crc32c } from '../../src/sandbox/providers/gcs/crc32c';

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
const crc32c = (data: Buffer): string => new Crc32c().update(data).digest();

test('CRC32C: the Castagnoli check value of "123456789", and the same digest whatever the pieces', () => {
  expect(new Crc32c().update(Buffer.from('123456789')).value()).toBe(0xe3069283);
  expect(crc32c(Buffer.from('123456789'))).toBe('4waSgw==');
  // What google-crc32c (the C library google-cloud-storage uses) gives for these 16 bytes.
  expect(crc32c(Buffer.from('{"a":1}\n{"b":2}\n'))).toBe('5Nebbg==');
  const data = randomBytes(100_003);
  const pieces = new Crc32c();
  for (let i = 0; i < data.length; i += 777) pieces.update(data.subarray(i, i + 777));
  expect(pieces.digest()).toBe(crc32c(data));
});

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
      crc32c: '5Nebbg==',
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
      expect(res.headers.get('x-goog-hash')).toBe(`crc32c=5Nebbg==,md5=${md5(content)}`);
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

describe('checksums sent with an upload', () => {
  function multipart(name: string, media: Buffer, extra: Record<string, string>): { headers: Record<string, string>; body: Buffer } {
    const boundary = 'cs-boundary';
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\ncontent-type: application/json; charset=UTF-8\r\n\r\n${JSON.stringify({ name, ...extra })}\r\n--${boundary}\r\ncontent-type: text/plain\r\n\r\n`),
      media,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    return { headers: { 'content-type': `multipart/related; boundary="${boundary}"` }, body };
  }

  test('a multipart upload whose crc32c or md5Hash is not that of its bytes is a 400 and stores nothing; the right ones are taken', async () => {
    const media = randomBytes(3000);
    const wrongCrc = await gcs('/upload/storage/v1/b/anybatch-sandbox/o?uploadType=multipart', { method: 'POST', ...multipart('sums/x.bin', media, { crc32c: 'AAAAAA==' }) });
    const message = `Provided CRC32C "AAAAAA==" doesn't match calculated CRC32C "${crc32c(media)}".`;
    expect([wrongCrc.status, await wrongCrc.json()]).toEqual([400, { error: { code: 400, message, errors: [{ message, domain: 'global', reason: 'invalid' }] } }]);
    const wrongMd5 = await gcs('/upload/storage/v1/b/anybatch-sandbox/o?uploadType=multipart', { method: 'POST', ...multipart('sums/x.bin', media, { md5Hash: md5(Buffer.from('other')) }) });
    expect(wrongMd5.status).toBe(400);
    expect((await gcs('/storage/v1/b/anybatch-sandbox/o/sums%2Fx.bin')).status).toBe(404);

    const right = await gcs('/upload/storage/v1/b/anybatch-sandbox/o?uploadType=multipart', { method: 'POST', ...multipart('sums/x.bin', media, { crc32c: crc32c(media), md5Hash: md5(media) }) });
    expect(right.status).toBe(200);
    expect(await right.json()).toMatchObject({ name: 'sums/x.bin', size: '3000', crc32c: crc32c(media), md5Hash: md5(media) });
  });
});

describe('resumable uploads', () => {
  const CHUNK = 256 * 1024;

  async function startSession(name: string, headers: Record<string, string> = {}, query = ''): Promise<string> {
    const res = await gcs(`/upload/storage/v1/b/anybatch-sandbox/o?uploadType=resumable&name=${enc(name)}${query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=UTF-8', 'x-upload-content-type': 'application/jsonl', ...headers },
      body: JSON.stringify({ name, metadata: { source: 'test' } }),
    });
    expect([res.status, await res.text()]).toEqual([200, '']);
    const location = res.headers.get('location')!;
    expect(location).toMatch(new RegExp(`^${base}/upload/storage/v1/b/anybatch-sandbox/o\\?uploadType=resumable&name=${enc(name)}&upload_id=[\\w-]+$`));
    return location;
  }

  /** A session request, with no credential: the session URI is its own. */
  function put(location: string, body: Buffer | null, contentRange: string | null, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(location, { method: 'PUT', headers: { ...(contentRange ? { 'content-range': contentRange } : {}), ...headers }, body: body ?? undefined });
  }

  test('chunk by chunk: 308 with the persisted Range, a status query, a chunk sent again, then 200 with the object', async () => {
    const data = randomBytes(3 * CHUNK + 1234);
    const location = await startSession('resumable/a.jsonl', { 'x-upload-content-length': String(data.length) });

    const empty = await put(location, null, 'bytes */*');
    expect([empty.status, empty.headers.get('range')]).toEqual([308, null]);

    const first = await put(location, data.subarray(0, CHUNK), `bytes 0-${CHUNK - 1}/*`);
    expect([first.status, first.headers.get('range'), await first.text()]).toEqual([308, `bytes=0-${CHUNK - 1}`, '']);
    const second = await put(location, data.subarray(CHUNK, 2 * CHUNK), `bytes ${CHUNK}-${2 * CHUNK - 1}/*`);
    expect(second.headers.get('range')).toBe(`bytes=0-${2 * CHUNK - 1}`);
    // The answer to that chunk was "lost": the client sends it again; the bytes already there are skipped.
    const again = await put(location, data.subarray(CHUNK, 2 * CHUNK), `bytes ${CHUNK}-${2 * CHUNK - 1}/*`);
    expect([again.status, again.headers.get('range')]).toEqual([308, `bytes=0-${2 * CHUNK - 1}`]);
    const status = await put(location, null, 'bytes */*');
    expect([status.status, status.headers.get('range')]).toEqual([308, `bytes=0-${2 * CHUNK - 1}`]);

    const last = await put(location, data.subarray(2 * CHUNK), `bytes ${2 * CHUNK}-${data.length - 1}/${data.length}`, { 'x-goog-hash': `crc32c=${crc32c(data)},md5=${md5(data)}` });
    expect(last.status).toBe(200);
    const object = (await last.json()) as Record<string, unknown>;
    expect(object).toMatchObject({ name: 'resumable/a.jsonl', size: String(data.length), md5Hash: md5(data), crc32c: crc32c(data), contentType: 'application/jsonl', metadata: { source: 'test' } });
    const down = await gcs(`/storage/v1/b/anybatch-sandbox/o/${enc('resumable/a.jsonl')}?alt=media`);
    expect(Buffer.from(await down.arrayBuffer()).equals(data)).toBe(true);

    // A finished session answers with its object.
    const after = await put(location, null, 'bytes */*');
    expect([after.status, await after.json()]).toEqual([200, object]);
  });

  test('a whole object in one PUT without Content-Range, and a final empty chunk naming the total', async () => {
    const one = await startSession('resumable/one.bin');
    const data = randomBytes(5000);
    const res = await put(one, data, null);
    expect([res.status, ((await res.json()) as { size: string }).size]).toEqual([200, '5000']);

    const exact = await startSession('resumable/exact.bin');
    const chunk = randomBytes(CHUNK);
    expect((await put(exact, chunk, `bytes 0-${CHUNK - 1}/*`)).status).toBe(308);
    const done = await put(exact, null, `bytes */${CHUNK}`);
    expect([done.status, ((await done.json()) as { md5Hash: string }).md5Hash]).toEqual([200, md5(chunk)]);
  });

  test('a chunk past the persisted offset, or shorter than its Content-Range, is a 400 and persists nothing', async () => {
    const location = await startSession('resumable/gaps.bin');
    const data = randomBytes(2 * CHUNK);
    const gap = await put(location, data.subarray(CHUNK), `bytes ${CHUNK}-${2 * CHUNK - 1}/*`);
    expect(gap.status).toBe(400);
    expect(((await gap.json()) as { error: { message: string } }).error.message).toBe(
      `Invalid request. According to the Content-Range header, the upload offset is ${CHUNK} byte(s), which exceeds already uploaded size of 0 byte(s).`,
    );
    const short = await put(location, data.subarray(0, 100), `bytes 0-${CHUNK - 1}/*`);
    expect(short.status).toBe(400);
    const status = await put(location, null, 'bytes */*');
    expect([status.status, status.headers.get('range')]).toEqual([308, null]);
    expect((await put(location, null, 'nonsense')).status).toBe(400);
  });

  test('the final X-Goog-Hash and X-Upload-Content-Length are checked: a mismatch is a 400, no object, and the session is gone', async () => {
    const data = randomBytes(1000);
    const badHash = await startSession('resumable/bad-hash.bin');
    const refused = await put(badHash, data, `bytes 0-999/1000`, { 'x-goog-hash': 'crc32c=AAAAAA==' });
    expect([refused.status, ((await refused.json()) as { error: { message: string } }).error.message]).toEqual([
      400,
      `Provided CRC32C "AAAAAA==" doesn't match calculated CRC32C "${crc32c(data)}".`,
    ]);
    expect((await gcs('/storage/v1/b/anybatch-sandbox/o/resumable%2Fbad-hash.bin')).status).toBe(404);
    expect((await put(badHash, null, 'bytes */*')).status).toBe(404);

    const badSize = await startSession('resumable/bad-size.bin', { 'x-upload-content-length': '2000' });
    expect((await put(badSize, data, 'bytes 0-999/1000')).status).toBe(400);
    expect((await gcs('/storage/v1/b/anybatch-sandbox/o/resumable%2Fbad-size.bin')).status).toBe(404);
  });

  test('DELETE on the session URI cancels it: 499, then the session is a 404', async () => {
    const location = await startSession('resumable/cancelled.bin');
    expect((await put(location, randomBytes(CHUNK), `bytes 0-${CHUNK - 1}/*`)).status).toBe(308);
    const cancelled = await fetch(location, { method: 'DELETE' });
    expect([cancelled.status, await cancelled.text()]).toEqual([499, '']);
    expect((await put(location, null, 'bytes */*')).status).toBe(404);
    expect((await gcs('/storage/v1/b/anybatch-sandbox/o/resumable%2Fcancelled.bin')).status).toBe(404);
  });

  test('an unknown upload_id is a 404; starting a session still needs a credential', async () => {
    expect((await put(`${base}/upload/storage/v1/b/anybatch-sandbox/o?uploadType=resumable&upload_id=nope`, null, 'bytes */*')).status).toBe(404);
    const anonymous = await fetch(`${base}/upload/storage/v1/b/anybatch-sandbox/o?uploadType=resumable&name=x`, { method: 'POST', body: '{}' });
    expect(anonymous.status).toBe(401);
  });

  test('ifGenerationMatch=0 in the session is checked when it finishes: an object made meanwhile makes it a 412', async () => {
    const location = await startSession('resumable/racy.bin', {}, '&ifGenerationMatch=0');
    await uploadMedia('anybatch-sandbox', 'resumable/racy.bin', 'first');
    const res = await put(location, Buffer.from('second'), 'bytes 0-5/6');
    expect([res.status, ((await res.json()) as { error: { errors: Array<{ reason: string }> } }).error.errors[0].reason]).toEqual([412, 'conditionNotMet']);
    expect(await (await gcs('/storage/v1/b/anybatch-sandbox/o/resumable%2Fracy.bin?alt=media')).text()).toBe('first');
  });
});

describe('ranged downloads', () => {
  const data = Buffer.from('0123456789abcdefghij');

  beforeAll(async () => {
    await uploadMedia('anybatch-sandbox', 'ranged.txt', data, 'text/plain');
  });

  async function ranged(range: string): Promise<{ status: number; contentRange: string | null; length: string | null; body: string }> {
    const res = await gcs('/storage/v1/b/anybatch-sandbox/o/ranged.txt?alt=media', { headers: { range } });
    return { status: res.status, contentRange: res.headers.get('content-range'), length: res.headers.get('content-length'), body: await res.text() };
  }

  test('bytes=first-last, first-, -suffix: a 206 with Content-Range and only those bytes; a last past the end is cut', async () => {
    expect(await ranged('bytes=2-5')).toEqual({ status: 206, contentRange: 'bytes 2-5/20', length: '4', body: '2345' });
    expect(await ranged('bytes=15-')).toEqual({ status: 206, contentRange: 'bytes 15-19/20', length: '5', body: 'fghij' });
    expect(await ranged('bytes=-3')).toEqual({ status: 206, contentRange: 'bytes 17-19/20', length: '3', body: 'hij' });
    expect(await ranged('bytes=10-99')).toEqual({ status: 206, contentRange: 'bytes 10-19/20', length: '10', body: 'abcdefghij' });
    // The whole object's checksums, as GCS sends them on a range too.
    const res = await gcs('/download/storage/v1/b/anybatch-sandbox/o/ranged.txt?alt=media', { headers: { range: 'bytes=0-0' } });
    expect([res.status, res.headers.get('x-goog-hash'), await res.text()]).toEqual([206, `crc32c=${crc32c(data)},md5=${md5(data)}`, '0']);
  });

  test('a range starting past the end is a 416; a header that is not one byte range is ignored', async () => {
    const past = await gcs('/storage/v1/b/anybatch-sandbox/o/ranged.txt?alt=media', { headers: { range: 'bytes=20-' } });
    expect([past.status, past.headers.get('content-range'), ((await past.json()) as { error: { errors: Array<{ reason: string }> } }).error.errors[0].reason]).toEqual([
      416,
      'bytes */20',
      'requestedRangeNotSatisfiable',
    ]);
    expect(await ranged('bytes=0-1,4-5')).toMatchObject({ status: 200, body: data.toString() });
    expect(await ranged('lines=1-2')).toMatchObject({ status: 200, body: data.toString() });
  });
});

describe('preconditions', () => {
  test('uploads: ifGenerationMatch=0 creates only; the live generation overwrites; another is a 412 leaving the object', async () => {
    const created = await gcs('/upload/storage/v1/b/anybatch-sandbox/o?uploadType=media&name=pre%2Fx&ifGenerationMatch=0', { method: 'POST', body: 'one' });
    expect(created.status).toBe(200);
    const { generation } = (await created.json()) as { generation: string };
    const again = await gcs('/upload/storage/v1/b/anybatch-sandbox/o?uploadType=media&name=pre%2Fx&ifGenerationMatch=0', { method: 'POST', body: 'two' });
    const message = 'At least one of the pre-conditions you specified did not hold.';
    expect([again.status, await again.json()]).toEqual([412, { error: { code: 412, message, errors: [{ message, domain: 'global', reason: 'conditionNotMet' }] } }]);
    const stale = await gcs('/upload/storage/v1/b/anybatch-sandbox/o?uploadType=media&name=pre%2Fx&ifGenerationMatch=1', { method: 'POST', body: 'two' });
    expect(stale.status).toBe(412);
    const notMatch = await gcs(`/upload/storage/v1/b/anybatch-sandbox/o?uploadType=media&name=pre%2Fx&ifGenerationNotMatch=${generation}`, { method: 'POST', body: 'two' });
    expect(notMatch.status).toBe(412);
    expect(await (await gcs('/storage/v1/b/anybatch-sandbox/o/pre%2Fx?alt=media')).text()).toBe('one');
    const replaced = await gcs(`/upload/storage/v1/b/anybatch-sandbox/o?uploadType=media&name=pre%2Fx&ifGenerationMatch=${generation}&ifMetagenerationMatch=1`, { method: 'POST', body: 'two' });
    expect(replaced.status).toBe(200);
    expect(await (await gcs('/storage/v1/b/anybatch-sandbox/o/pre%2Fx?alt=media')).text()).toBe('two');
    expect((await gcs('/upload/storage/v1/b/anybatch-sandbox/o?uploadType=media&name=pre%2Fx&ifGenerationMatch=abc', { method: 'POST', body: 'x' })).status).toBe(400);
  });

  test('reads: ifGenerationMatch of another generation is a 412; ifGenerationNotMatch of this one a 304', async () => {
    const { generation } = await uploadMedia('anybatch-sandbox', 'pre/read', 'data');
    expect((await gcs(`/storage/v1/b/anybatch-sandbox/o/pre%2Fread?ifGenerationMatch=${generation}`)).status).toBe(200);
    expect((await gcs('/storage/v1/b/anybatch-sandbox/o/pre%2Fread?ifGenerationMatch=1')).status).toBe(412);
    expect((await gcs('/storage/v1/b/anybatch-sandbox/o/pre%2Fread?alt=media&ifMetagenerationMatch=2')).status).toBe(412);
    const notModified = await gcs(`/download/storage/v1/b/anybatch-sandbox/o/pre%2Fread?alt=media&ifGenerationNotMatch=${generation}`);
    expect([notModified.status, await notModified.text()]).toEqual([304, '']);
    expect(await (await gcs('/storage/v1/b/anybatch-sandbox/o/pre%2Fread?alt=media&ifGenerationNotMatch=1')).text()).toBe('data');
  });

  test('delete: a generation that is not the live one is a 412 and the object stays', async () => {
    const { generation } = await uploadMedia('anybatch-sandbox', 'pre/del', 'data');
    expect((await gcs('/storage/v1/b/anybatch-sandbox/o/pre%2Fdel?ifGenerationMatch=1', { method: 'DELETE' })).status).toBe(412);
    expect((await gcs('/storage/v1/b/anybatch-sandbox/o/pre%2Fdel')).status).toBe(200);
    expect((await gcs(`/storage/v1/b/anybatch-sandbox/o/pre%2Fdel?ifGenerationMatch=${generation}`, { method: 'DELETE' })).status).toBe(204);
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
