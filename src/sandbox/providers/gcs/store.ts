/**
 * The buckets and objects of one sandbox's Cloud Storage: metadata in memory, bytes on disk under
 * `<dataDir>/gcs/objects`, one file per object generation (named by a digest, so any object name is a safe file
 * name). A write streams into a temp file while its MD5 and CRC32C are computed and then replaces the object at once,
 * as GCS's uploads are atomic: checksums the uploader sent and request preconditions are checked at that moment, so
 * an upload refused for either leaves the object as it was. A download already streaming keeps reading the
 * generation it opened.
 *
 * One store per sandbox is shared by two modules: `gcs` serves it over the JSON API and `vertexai` reads its jobs'
 * inputs from it and writes their predictions to it. Provider modules do not import each other
 * (test/sandbox/structure.test.ts), so the store is found through the kernel, kept here in a WeakMap rather than
 * as a Kernel field: the kernel stays free of any one provider's types, and the registry (`providers/index.ts`)
 * hands `gcsStoreOf` to the vertexai module.
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { BUCKET_NAME } from '../../kernel/options';
import type { Kernel } from '../../kernel/provider';
import type { StorageStats } from '../../kernel/settings';
import { Crc32c } from './crc32c';
import { gcsError, noSuchBucket, noSuchObject } from './errors';
import { listPage, type ListPage, type ListQuery } from './listing';
import { checkWrite, NO_PRECONDITIONS, type Preconditions } from './preconditions';

export interface GcsBucket {
  name: string;
  project: string;
  createdMs: number;
}

export interface GcsObject {
  bucket: string;
  name: string;
  /** Microseconds since the epoch, as GCS's generations are; unique per write within a store. */
  generation: string;
  contentType: string;
  size: number;
  /** Base64 of the MD5 digest, as the JSON API's `md5Hash`. */
  md5Hash: string;
  /** Base64 of the big-endian CRC32C, as the JSON API's `crc32c`. */
  crc32c: string;
  createdMs: number;
  /** Custom metadata (`metadata` of the resource), when the upload set some. */
  metadata: Record<string, string> | null;
  path: string;
}

export interface ObjectWrite {
  contentType: string;
  metadata?: Record<string, string> | null;
  /** Checksums the uploader sent (base64, as in the resource); a mismatch refuses the upload with a 400. */
  expected?: { md5Hash?: string | null; crc32c?: string | null };
  /** Checked against the live object when the write commits. */
  preconditions?: Preconditions;
  /** The size the uploader announced (a resumable upload's `X-Upload-Content-Length`); another size is a 400. */
  expectedSize?: number | null;
}

interface Digests {
  size: number;
  md5Hash: string;
  crc32c: string;
}

/** Size, MD5 and CRC32C of a file, read once. */
export async function digestFile(file: string): Promise<Digests> {
  const md5 = createHash('md5');
  const crc = new Crc32c();
  let size = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    md5.update(chunk);
    crc.update(chunk);
    size += chunk.length;
  }
  return { size, md5Hash: md5.digest('base64'), crc32c: crc.digest() };
}

/** Object names are 1 to 1024 bytes of UTF-8 without carriage returns or line feeds (GCS's naming rule). */
function checkObjectName(name: string): void {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0 || bytes > 1024 || /[\r\n]/.test(name)) throw gcsError(400, `The object name '${name.slice(0, 64)}' is invalid.`);
}

export class GcsStore {
  private readonly buckets = new Map<string, GcsBucket>();
  private readonly objects = new Map<string, Map<string, GcsObject>>();
  /** Objects written through the API (uploads), for the module's `filesCreated`. */
  readonly counters = { uploads: 0 };
  private lastGeneration = 0;
  private readonly objectsDir: string;
  private readonly incomingDir: string;

  constructor(
    dir: string,
    private readonly now: () => number,
    private readonly initialBuckets: readonly string[],
  ) {
    this.objectsDir = path.join(dir, 'objects');
    this.incomingDir = path.join(dir, 'incoming');
  }

  async init(): Promise<void> {
    await fs.mkdir(this.objectsDir, { recursive: true });
    await fs.mkdir(this.incomingDir, { recursive: true });
    for (const name of this.initialBuckets) if (!this.buckets.has(name)) this.createBucket(name, 'sandbox');
  }

  // ---- buckets ----

  createBucket(name: string, project: string): GcsBucket {
    if (!BUCKET_NAME.test(name)) throw gcsError(400, `Invalid bucket name: '${name}'`);
    if (this.buckets.has(name)) throw gcsError(409, 'Your previous request to create the named bucket succeeded and you already own it.');
    const bucket: GcsBucket = { name, project, createdMs: this.now() };
    this.buckets.set(name, bucket);
    this.objects.set(name, new Map());
    return bucket;
  }

  hasBucket(name: string): boolean {
    return this.buckets.has(name);
  }

  bucket(name: string): GcsBucket {
    const bucket = this.buckets.get(name);
    if (!bucket) throw noSuchBucket();
    return bucket;
  }

  bucketList(): GcsBucket[] {
    return [...this.buckets.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  // ---- objects ----

  object(bucket: string, name: string): GcsObject {
    const object = this.contents(bucket).get(name);
    if (!object) throw noSuchObject(bucket, name);
    return object;
  }

  /** Where an object's bytes are, or null when there is no such object (for readers outside the JSON API). */
  locate(bucket: string, name: string): { path: string; size: number } | null {
    const object = this.objects.get(bucket)?.get(name);
    return object ? { path: object.path, size: object.size } : null;
  }

  /** Streams `body` into a new generation of the object (an upload through the JSON API). */
  async write(bucket: string, name: string, body: AsyncIterable<Buffer>, what: ObjectWrite): Promise<GcsObject> {
    this.bucket(bucket);
    checkObjectName(name);
    const incoming = path.join(this.incomingDir, randomBytes(12).toString('hex'));
    const out = createWriteStream(incoming);
    out.on('error', () => undefined); // surfaced by `finished` below
    const md5 = createHash('md5');
    const crc = new Crc32c();
    let size = 0;
    try {
      for await (const chunk of body) {
        md5.update(chunk);
        crc.update(chunk);
        size += chunk.length;
        if (!out.write(chunk)) await once(out, 'drain');
      }
      out.end();
      await finished(out);
    } catch (err) {
      out.destroy();
      await fs.rm(incoming, { force: true });
      throw err;
    }
    const object = await this.commit(bucket, name, incoming, { size, md5Hash: md5.digest('base64'), crc32c: crc.digest() }, what);
    this.counters.uploads++;
    return object;
  }

  /** Moves a finished file (on the same disk) into the store as the object's new generation. */
  async putFile(bucket: string, name: string, sourcePath: string, contentType: string): Promise<GcsObject> {
    this.bucket(bucket);
    checkObjectName(name);
    return this.commit(bucket, name, sourcePath, await digestFile(sourcePath), { contentType });
  }

  /**
   * Makes the finished file of an upload (in the store's `incoming` folder, as `incomingPath` names them) the
   * object's new generation, after the same checks as `write`; the file is removed when the upload is refused.
   */
  async commitUpload(bucket: string, name: string, file: string, what: ObjectWrite): Promise<GcsObject> {
    const object = await this.commit(bucket, name, file, await digestFile(file), what);
    this.counters.uploads++;
    return object;
  }

  /** A fresh path in the folder uploads are written in before they commit (the objects' disk). */
  incomingPath(): string {
    return path.join(this.incomingDir, randomBytes(12).toString('hex'));
  }

  async remove(bucket: string, name: string, preconditions: Preconditions = NO_PRECONDITIONS): Promise<void> {
    const object = this.object(bucket, name);
    checkWrite(object, preconditions);
    this.contents(bucket).delete(name);
    await fs.rm(object.path, { force: true });
  }

  /** One page of a bucket's objects, in name order. */
  list(bucket: string, query: ListQuery): ListPage<GcsObject> {
    const sorted = [...this.contents(bucket).values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return listPage(sorted, query);
  }

  stats(): StorageStats {
    let objects = 0;
    let bytes = 0;
    for (const contents of this.objects.values()) {
      for (const object of contents.values()) {
        objects++;
        bytes += object.size;
      }
    }
    return { buckets: this.buckets.size, objects, bytes };
  }

  private contents(bucket: string): Map<string, GcsObject> {
    const contents = this.objects.get(bucket);
    if (!contents) throw noSuchBucket();
    return contents;
  }

  private nextGeneration(): string {
    this.lastGeneration = Math.max(this.now() * 1000, this.lastGeneration + 1);
    return String(this.lastGeneration);
  }

  private async commit(bucket: string, name: string, from: string, digests: Digests, what: ObjectWrite): Promise<GcsObject> {
    try {
      this.bucket(bucket);
      checkObjectName(name);
      checkUpload(digests, what);
      checkWrite(this.contents(bucket).get(name) ?? null, what.preconditions ?? NO_PRECONDITIONS);
    } catch (err) {
      await fs.rm(from, { force: true });
      throw err;
    }
    const { size, md5Hash, crc32c } = digests;
    const generation = this.nextGeneration();
    const target = path.join(this.objectsDir, createHash('sha256').update(`${bucket}\u0000${name}\u0000${generation}`).digest('hex'));
    await fs.rename(from, target);
    const contents = this.contents(bucket);
    const previous = contents.get(name);
    const object: GcsObject = { bucket, name, generation, contentType: what.contentType, size, md5Hash, crc32c, createdMs: this.now(), metadata: what.metadata ?? null, path: target };
    contents.set(name, object);
    if (previous) await fs.rm(previous.path, { force: true });
    return object;
  }
}

/** The uploader's checksums and announced size against what arrived, in GCS's words. */
function checkUpload(digests: Digests, what: ObjectWrite): void {
  const crc32c = what.expected?.crc32c;
  if (crc32c && crc32c !== digests.crc32c) throw gcsError(400, `Provided CRC32C "${crc32c}" doesn't match calculated CRC32C "${digests.crc32c}".`);
  const md5Hash = what.expected?.md5Hash;
  if (md5Hash && md5Hash !== digests.md5Hash) throw gcsError(400, `Provided MD5 hash "${md5Hash}" doesn't match calculated MD5 hash "${digests.md5Hash}".`);
  const size = what.expectedSize;
  if (size !== undefined && size !== null && size !== digests.size) {
    throw gcsError(400, `The upload's ${digests.size} byte(s) are not the ${size} announced in X-Upload-Content-Length.`);
  }
}

const stores = new WeakMap<Kernel, GcsStore>();

/** The Cloud Storage of the sandbox `kernel` belongs to: made on first use, the same for every module after. */
export function gcsStoreOf(kernel: Kernel): GcsStore {
  let store = stores.get(kernel);
  if (!store) {
    store = new GcsStore(path.join(kernel.dataDir, 'gcs'), kernel.now, kernel.options.gcsBuckets);
    stores.set(kernel, store);
  }
  return store;
}
