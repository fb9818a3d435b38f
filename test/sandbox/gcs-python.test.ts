/**
 * The gcs module driven by Google's official Python client google-cloud-storage 3.17.2, unchanged (pinned in
 * scripts/setup.js, run by test/support/python.ts; a missing client fails, never skips). `storage.Client` finds the
 * sandbox through `STORAGE_EMULATOR_HOST=<url>/gcs` and keeps its path (`/storage/v1`, `/upload/storage/v1` and
 * `/download/storage/v1` are added to it). The client is given a bearer-token credential: under
 * STORAGE_EMULATOR_HOST it would otherwise default to AnonymousCredentials, which the sandbox refuses as GCS does
 * (src/sandbox/providers/gcs/errors.ts).
 *
 * What a user does around a Vertex AI batch: JSONL uploads (a small one, which the library sends as a multipart
 * upload with its CRC32C; over 8 MiB, which it sends as a resumable upload, chunked or in one request; a stream of
 * unknown size through `blob.open("wb")`), listings by prefix, with a delimiter and paged, downloads (whole,
 * ranged, chunked by Range requests, to a file), `exists`, `get_blob`, a create-only write, delete; and a real
 * sandbox Vertex batch, created with google-genai from an input uploaded with google-cloud-storage, whose
 * `predictions.jsonl` is listed and read back with google-cloud-storage. The library checks every upload's and
 * download's CRC32C itself; the bytes are also compared here, exactly.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { Crc32c } from '../../src/sandbox/providers/gcs/crc32c';
import { lastJson, runPython } from '../support/python';

let sandbox: Sandbox;
let tmp: string;

beforeAll(async () => {
  sandbox = await startSandbox({ rate: 1000, validationMs: 30, cancellingMs: 30 });
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'anybatch-gcs-python-'));
});

afterAll(async () => {
  await sandbox?.close();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

const md5 = (data: Buffer): string => createHash('md5').update(data).digest('base64');
const crc32c = (data: Buffer): string => new Crc32c().update(data).digest();

/** The client, with every response of its HTTP session logged: method, path below the base, upload type (or "session"), status, Content-Range, Range. */
const PREAMBLE = `
import datetime, json, os, urllib.parse
import google.oauth2.credentials
from google.api_core import exceptions
from google.cloud import storage

credentials = google.oauth2.credentials.Credentials(token="fake-token", expiry=datetime.datetime(2100, 1, 1))
client = storage.Client(project="anybatch-test", credentials=credentials)
bucket = client.bucket("anybatch-sandbox")
P = os.environ["PREFIX"]
BASE_PATH = urllib.parse.urlparse(os.environ["STORAGE_EMULATOR_HOST"]).path
requests_seen = []

def log_response(response, *args, **kwargs):
    url = urllib.parse.urlparse(response.request.url)
    query = urllib.parse.parse_qs(url.query)
    kind = "session" if "upload_id" in query else query.get("uploadType", [""])[0]
    requests_seen.append([response.request.method, url.path[len(BASE_PATH):], kind,
                          response.status_code, response.request.headers.get("content-range", ""),
                          response.request.headers.get("range", "")])

client._http.hooks["response"].append(log_response)

def since(mark):
    """The requests made since requests_seen had mark entries."""
    return requests_seen[mark:]
`;

const STORAGE_SCRIPT = `${PREAMBLE}
out = {}
small = b'{"id":"a","n":1}\\n{"id":"b","n":2}\\n'
big_path = os.environ["BIG_FILE"]
with open(big_path, "rb") as f:
    big = f.read()

mark = len(requests_seen)
bucket.blob(P + "in/small.jsonl").upload_from_string(small, content_type="application/jsonl")
out["small_upload"] = since(mark)

mark = len(requests_seen)
blob = bucket.blob(P + "in/big.jsonl", chunk_size=1024 * 1024)
blob.upload_from_filename(big_path, content_type="application/jsonl")
out["big_upload"] = since(mark)
out["big_uploaded"] = {"size": blob.size, "md5": blob.md5_hash, "crc32c": blob.crc32c, "content_type": blob.content_type}

mark = len(requests_seen)
bucket.blob(P + "in/whole.jsonl").upload_from_filename(big_path)
out["whole_upload"] = since(mark)

mark = len(requests_seen)
stream_bytes = big[: 700 * 1024]
with bucket.blob(P + "stream/part-0.jsonl", chunk_size=256 * 1024).open("wb", content_type="application/jsonl") as f:
    for i in range(0, len(stream_bytes), 100 * 1024):
        f.write(stream_bytes[i : i + 100 * 1024])
out["stream_upload"] = since(mark)

names = lambda blobs: [b.name for b in blobs]
out["list_prefix"] = names(client.list_blobs("anybatch-sandbox", prefix=P))
listing = client.list_blobs("anybatch-sandbox", prefix=P, delimiter="/")
out["list_delimiter"] = {"items": names(listing), "prefixes": sorted(listing.prefixes)}
listing = bucket.list_blobs(prefix=P + "in/", delimiter="/")
out["list_in_delimiter"] = {"items": names(listing), "prefixes": sorted(listing.prefixes)}
out["list_pages"] = [names(page) for page in client.list_blobs("anybatch-sandbox", prefix=P, page_size=2).pages]
out["list_max_results"] = names(client.list_blobs("anybatch-sandbox", prefix=P, max_results=3))

out["small_equal"] = bucket.blob(P + "in/small.jsonl").download_as_bytes() == small
mark = len(requests_seen)
out["range"] = bucket.blob(P + "in/small.jsonl").download_as_bytes(start=5, end=9).decode()
out["range_requests"] = since(mark)
out["range_to_end"] = bucket.blob(P + "in/small.jsonl").download_as_bytes(start=len(small) - 7).decode()
out["big_equal"] = bucket.blob(P + "in/big.jsonl").download_as_bytes() == big
mark = len(requests_seen)
out["big_chunked_equal"] = bucket.blob(P + "in/big.jsonl", chunk_size=4 * 1024 * 1024).download_as_bytes() == big
out["big_chunked_requests"] = since(mark)
target = os.path.join(os.environ["TMP"], "whole.jsonl")
bucket.blob(P + "in/whole.jsonl").download_to_filename(target)
with open(target, "rb") as f:
    out["whole_file_equal"] = f.read() == big
out["stream_equal"] = bucket.blob(P + "stream/part-0.jsonl").download_as_bytes() == stream_bytes

out["exists"] = [bucket.blob(P + "in/small.jsonl").exists(), bucket.blob(P + "in/none.jsonl").exists()]
got = bucket.get_blob(P + "in/small.jsonl")
out["get_blob"] = {"name": got.name, "size": got.size, "content_type": got.content_type, "md5": got.md5_hash,
                   "crc32c": got.crc32c, "generation": str(got.generation)}
out["get_blob_missing"] = bucket.get_blob(P + "in/none.jsonl") is None

try:
    bucket.blob(P + "in/small.jsonl").upload_from_string(b"overwritten\\n", if_generation_match=0)
    out["create_only_existing"] = "overwritten"
except exceptions.PreconditionFailed as e:
    out["create_only_existing"] = e.code
created = bucket.blob(P + "in/new.jsonl")
created.upload_from_string(b"new\\n", if_generation_match=0)
out["create_only_new"] = created.download_as_bytes(if_generation_match=created.generation).decode()
out["small_after"] = bucket.blob(P + "in/small.jsonl").download_as_bytes() == small

bucket.blob(P + "in/new.jsonl").delete()
out["after_delete"] = bucket.blob(P + "in/new.jsonl").exists()
try:
    bucket.blob(P + "in/new.jsonl").delete()
    out["delete_again"] = "deleted"
except exceptions.NotFound as e:
    out["delete_again"] = e.code
print(json.dumps(out))
`;

type Logged = [method: string, path: string, uploadType: string, status: number, contentRange: string, range: string];

interface StorageResult {
  small_upload: Logged[];
  big_upload: Logged[];
  big_uploaded: { size: number; md5: string; crc32c: string; content_type: string };
  whole_upload: Logged[];
  stream_upload: Logged[];
  list_prefix: string[];
  list_delimiter: { items: string[]; prefixes: string[] };
  list_in_delimiter: { items: string[]; prefixes: string[] };
  list_pages: string[][];
  list_max_results: string[];
  small_equal: boolean;
  range: string;
  range_requests: Logged[];
  range_to_end: string;
  big_equal: boolean;
  big_chunked_equal: boolean;
  big_chunked_requests: Logged[];
  whole_file_equal: boolean;
  stream_equal: boolean;
  exists: [boolean, boolean];
  get_blob: { name: string; size: number; content_type: string; md5: string; crc32c: string; generation: string };
  get_blob_missing: boolean;
  create_only_existing: number | string;
  create_only_new: string;
  small_after: boolean;
  after_delete: boolean;
  delete_again: number | string;
}

/** JSONL lines of about 1 KiB each, `count` of them, the same every run. */
function jsonl(count: number): Buffer {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(JSON.stringify({ id: `req-${i}`, request: { contents: [{ role: 'user', parts: [{ text: `line ${i} `.padEnd(960, String(i % 10)) }] }] } }));
  return Buffer.from(lines.join('\n') + '\n');
}

async function media(name: string): Promise<Buffer> {
  const res = await fetch(`${sandbox.baseUrls.gcs}/storage/v1/b/anybatch-sandbox/o/${encodeURIComponent(name)}?alt=media`, { headers: { authorization: 'Bearer t' } });
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

describe('google-cloud-storage (Python) against <url>/gcs through STORAGE_EMULATOR_HOST', () => {
  test('uploads (multipart, resumable chunked and whole, a stream), listings, downloads (ranged, chunked), exists, get_blob, create-only, delete', async () => {
    const P = 'py/';
    const big = jsonl(9600); // about 9.6 MB: past the 8 MiB the library still sends as one multipart upload
    expect(big.length).toBeGreaterThan(8 * 1024 * 1024);
    const bigFile = path.join(tmp, 'big.jsonl');
    await fs.writeFile(bigFile, big);
    const small = Buffer.from('{"id":"a","n":1}\n{"id":"b","n":2}\n');

    const run = await runPython(STORAGE_SCRIPT, {
      modules: ['google.cloud.storage'],
      env: { STORAGE_EMULATOR_HOST: sandbox.baseUrls.gcs, PREFIX: P, BIG_FILE: bigFile, TMP: tmp },
    });
    const r = lastJson<StorageResult>(run.stdout);

    const UPLOAD = '/upload/storage/v1/b/anybatch-sandbox/o';
    // The small object: one multipart upload (after the bucket's metadata, which the client reads once and keeps).
    expect(r.small_upload).toEqual([
      ['GET', '/storage/v1/b/anybatch-sandbox', '', 200, '', ''],
      ['POST', UPLOAD, 'multipart', 200, '', ''],
    ]);
    // Over 8 MiB with a 1 MiB chunk_size: a resumable session, 308 after each full chunk, 200 on the last.
    const MiB = 1024 * 1024;
    const chunks = Math.ceil(big.length / MiB);
    expect(r.big_upload).toEqual([
      ['POST', UPLOAD, 'resumable', 200, '', ''],
      ...Array.from({ length: chunks }, (_, i): Logged => {
        const last = i === chunks - 1;
        return ['PUT', UPLOAD, 'session', last ? 200 : 308, `bytes ${i * MiB}-${last ? big.length - 1 : (i + 1) * MiB - 1}/${big.length}`, ''];
      }),
    ]);
    expect(r.big_uploaded).toEqual({ size: big.length, md5: md5(big), crc32c: crc32c(big), content_type: 'application/jsonl' });
    // With no chunk_size, the whole file in one request of the session.
    expect(r.whole_upload).toEqual([
      ['POST', UPLOAD, 'resumable', 200, '', ''],
      ['PUT', UPLOAD, 'session', 200, `bytes 0-${big.length - 1}/${big.length}`, ''],
    ]);
    // A stream (blob.open("wb")): chunks of an unknown total, the total named by the last one.
    const streamLength = 700 * 1024;
    const K256 = 256 * 1024;
    expect(r.stream_upload).toEqual([
      ['POST', UPLOAD, 'resumable', 200, '', ''],
      ['PUT', UPLOAD, 'session', 308, `bytes 0-${K256 - 1}/*`, ''],
      ['PUT', UPLOAD, 'session', 308, `bytes ${K256}-${2 * K256 - 1}/*`, ''],
      ['PUT', UPLOAD, 'session', 200, `bytes ${2 * K256}-${streamLength - 1}/${streamLength}`, ''],
    ]);

    expect(r.list_prefix).toEqual(['py/in/big.jsonl', 'py/in/small.jsonl', 'py/in/whole.jsonl', 'py/stream/part-0.jsonl']);
    expect(r.list_delimiter).toEqual({ items: [], prefixes: ['py/in/', 'py/stream/'] });
    expect(r.list_in_delimiter).toEqual({ items: ['py/in/big.jsonl', 'py/in/small.jsonl', 'py/in/whole.jsonl'], prefixes: [] });
    expect(r.list_pages).toEqual([
      ['py/in/big.jsonl', 'py/in/small.jsonl'],
      ['py/in/whole.jsonl', 'py/stream/part-0.jsonl'],
    ]);
    expect(r.list_max_results).toEqual(['py/in/big.jsonl', 'py/in/small.jsonl', 'py/in/whole.jsonl']);

    expect(r.small_equal).toBe(true);
    expect(r.range).toBe(small.subarray(5, 10).toString());
    const DOWNLOAD = '/download/storage/v1/b/anybatch-sandbox/o/';
    expect(r.range_requests).toEqual([['GET', `${DOWNLOAD}py%2Fin%2Fsmall.jsonl`, '', 206, '', 'bytes=5-9']]);
    expect(r.range_to_end).toBe(small.subarray(small.length - 7).toString());
    expect([r.big_equal, r.big_chunked_equal, r.whole_file_equal, r.stream_equal]).toEqual([true, true, true, true]);
    // chunk_size on a download: one Range request per 4 MiB, each a 206 (the last asks for the rest: the client read
    // the total from the first answer's Content-Range).
    const parts = Math.ceil(big.length / (4 * MiB));
    expect(r.big_chunked_requests).toEqual(
      Array.from({ length: parts }, (_, i): Logged => ['GET', `${DOWNLOAD}py%2Fin%2Fbig.jsonl`, '', 206, '', `bytes=${i * 4 * MiB}-${Math.min((i + 1) * 4 * MiB, big.length) - 1}`]),
    );

    expect(r.exists).toEqual([true, false]);
    expect(r.get_blob).toMatchObject({ name: 'py/in/small.jsonl', size: small.length, content_type: 'application/jsonl', md5: md5(small), crc32c: crc32c(small) });
    expect(r.get_blob.generation).toMatch(/^\d+$/);
    expect(r.get_blob_missing).toBe(true);
    expect([r.create_only_existing, r.create_only_new, r.small_after]).toEqual([412, 'new\n', true]);
    expect([r.after_delete, r.delete_again]).toEqual([false, 404]);

    // What the library stored is what was meant, byte for byte, read back without it.
    expect((await media('py/in/big.jsonl')).equals(big)).toBe(true);
    expect((await media('py/in/whole.jsonl')).equals(big)).toBe(true);
    expect((await media('py/stream/part-0.jsonl')).equals(big.subarray(0, streamLength))).toBe(true);
    expect((await media('py/in/small.jsonl')).equals(small)).toBe(true);
  });

  test('a Vertex AI batch: input uploaded with google-cloud-storage, the job made with google-genai, predictions.jsonl listed and read with google-cloud-storage', async () => {
    const script = `${PREAMBLE}
import time
from google import genai
from google.genai import types

ids = ["vx-%d" % i for i in range(5)]
lines = [json.dumps({"id": i, "request": {"contents": [{"role": "user", "parts": [{"text": "Say hello to " + i}]}]}}) for i in ids]
bucket.blob(P + "input.jsonl").upload_from_string("\\n".join(lines) + "\\n", content_type="application/jsonl")

genai_client = genai.Client(vertexai=True, project="anybatch-test", location="us-central1", api_key="python-key",
                            http_options=types.HttpOptions(base_url=os.environ["VERTEX_BASE"]))
job = genai_client.batches.create(model="gemini-2.5-flash", src="gs://anybatch-sandbox/" + P + "input.jsonl",
                                  config=types.CreateBatchJobConfig(dest="gs://anybatch-sandbox/" + P + "out/"))
while not job.done:
    time.sleep(0.05)
    job = genai_client.batches.get(name=job.name)

directory = job.output_info.gcs_output_directory
folder = directory[len("gs://anybatch-sandbox/"):]
listing = client.list_blobs("anybatch-sandbox", prefix=P + "out/", delimiter="/")
listed = {"items": [b.name for b in listing], "prefixes": sorted(listing.prefixes)}
predictions = bucket.get_blob(folder + "/predictions.jsonl")
data = predictions.download_as_bytes()
print(json.dumps({"state": job.state.name, "directory": directory, "folder": folder, "listed": listed,
                  "under_folder": [b.name for b in client.list_blobs("anybatch-sandbox", prefix=folder + "/")],
                  "blob": {"size": predictions.size, "content_type": predictions.content_type, "md5": predictions.md5_hash},
                  "lines": [json.loads(line) for line in data.decode("utf-8").splitlines() if line]}))
`;
    const run = await runPython(script, {
      modules: ['google.cloud.storage', 'google.genai'],
      env: { STORAGE_EMULATOR_HOST: sandbox.baseUrls.gcs, PREFIX: 'vertex-py/', VERTEX_BASE: `${sandbox.url}/vertexai` },
    });
    const r = lastJson<{
      state: string;
      directory: string;
      folder: string;
      listed: { items: string[]; prefixes: string[] };
      under_folder: string[];
      blob: { size: number; content_type: string; md5: string };
      lines: Array<{ id: string; status: string; response: { candidates: Array<{ content: { parts: Array<{ text: string }> } }> } }>;
    }>(run.stdout);
    expect(r.state).toBe('JOB_STATE_SUCCEEDED');
    expect(r.directory).toMatch(/^gs:\/\/anybatch-sandbox\/vertex-py\/out\/prediction-model-/);
    expect(r.listed).toEqual({ items: [], prefixes: [`${r.folder}/`] });
    expect(r.under_folder).toEqual([`${r.folder}/predictions.jsonl`]);
    const bytes = await media(`${r.folder}/predictions.jsonl`);
    expect(r.blob).toEqual({ size: bytes.length, content_type: 'application/jsonl', md5: md5(bytes) });
    expect(r.lines.map((l) => l.id).sort()).toEqual(['vx-0', 'vx-1', 'vx-2', 'vx-3', 'vx-4']);
    for (const line of r.lines) expect([line.status, line.response.candidates[0].content.parts[0].text]).toEqual(['', `Sandbox reply to: Say hello to ${line.id}`]);
    // The lines read through the library are the object's, in its order.
    expect(r.lines).toEqual(
      bytes
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as unknown),
    );
  });
});
