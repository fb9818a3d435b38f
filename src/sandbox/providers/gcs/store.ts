/**
 * The buckets and objects of one sandbox's Cloud Storage: metadata in memory, bytes on disk under
 * `<dataDir>/gcs/objects`, one file per object generation (named by a digest, so any object name is a safe file
 * name). A write streams into a temp file while its MD5 is computed and then replaces the object at once, as GCS's
 * uploads are atomic; a download already streaming keeps reading the generation it opened.
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
import { gcsError, noSuchBucket, noSuchObject } from './errors';
import { listPage, type ListPage, type ListQuery } from './listing';

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
  createdMs: number;
  /** Custom metadata (`metadata` of the resource), when the upload set some. */
  metadata: Record<string, string> | null;
  path: string;
}

export interface ObjectWrite {
  contentType: string;
  metadata?: Record<string, string> | null;
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
    let size = 0;
    try {
      for await (const chunk of body) {
        md5.update(chunk);
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
    const object = await this.commit(bucket, name, incoming, size, md5.digest('base64'), what);
    this.counters.uploads++;
    return object;
  }

  /** Moves a finished file (on the same disk) into the store as the object's new generation. */
  async putFile(bucket: string, name: string, sourcePath: string, contentType: string): Promise<GcsObject> {
    this.bucket(bucket);
    checkObjectName(name);
    const md5 = createHash('md5');
    let size = 0;
    for await (const chunk of createReadStream(sourcePath) as AsyncIterable<Buffer>) {
      md5.update(chunk);
      size += chunk.length;
    }
    return this.commit(bucket, name, sourcePath, size, md5.digest('base64'), { contentType });
  }

  async remove(bucket: string, name: string): Promise<void> {
    const object = this.object(bucket, name);
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

  private async commit(bucket: string, name: string, from: string, size: number, md5Hash: string, what: ObjectWrite): Promise<GcsObject> {
    const generation = this.nextGeneration();
    const target = path.join(this.objectsDir, createHash('sha256').update(`${bucket}\u0000${name}\u0000${generation}`).digest('hex'));
    await fs.rename(from, target);
    const contents = this.contents(bucket);
    const previous = contents.get(name);
    const object: GcsObject = { bucket, name, generation, contentType: what.contentType, size, md5Hash, createdMs: this.now(), metadata: what.metadata ?? null, path: target };
    contents.set(name, object);
    if (previous) await fs.rm(previous.path, { force: true });
    return object;
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
