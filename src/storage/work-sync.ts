/**
 * The scratch side of a batch in a remote store (src/storage/remote-files.ts): objects downloaded to local files
 * (streamed to a temp file, their size checked, then renamed into place) and a part's work folder kept in step with
 * its copy in the store (`WorkSync`), so that another worker host, after a crash, finds the id maps, translations and
 * create markers an adapter wrote.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { StorageError } from './errors';
import type { BlobStore, ByteRange } from './types';

/** Temp names in the scratch cache (never uploaded, never taken for a file of the work folder). */
export const SCRATCH_TEMP = '.anybatch-tmp-';

interface SyncedFile {
  size: number;
  mtimeMs: number;
  ino: number;
  /** The object's version as last synced (ETag, or size and time). */
  version: string;
}
type Manifest = Record<string, SyncedFile>;

export async function statOrNull(file: string): Promise<fs.Stats | null> {
  try {
    return await fs.promises.stat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw err;
  }
}

function sameFile(st: fs.Stats, m: SyncedFile | undefined): boolean {
  return m !== undefined && st.size === m.size && st.mtimeMs === m.mtimeMs && st.ino === m.ino;
}

function versionOf(info: { etag?: string; size: number; modifiedAt?: Date }): string {
  return info.etag ?? `${info.size}@${info.modifiedAt?.getTime() ?? 0}`;
}

/** Files under `dir` (relative `/`-separated names), skipping temp names. */
async function walkFiles(dir: string, rel = ''): Promise<string[]> {
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(path.join(dir, ...rel.split('/').filter(Boolean)), { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (e.name.startsWith(SCRATCH_TEMP) || e.name.endsWith('.tmp')) continue;
    const name = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await walkFiles(dir, name)));
    else if (e.isFile()) out.push(name);
  }
  return out;
}

/** Streams an object to a local file: a temp file beside it, its size checked, then renamed into place. */
export async function download(store: BlobStore, key: string, file: string, expected: number, range?: ByteRange): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `${SCRATCH_TEMP}${crypto.randomBytes(6).toString('hex')}`);
  try {
    await pipeline(await store.get(key, range), fs.createWriteStream(tmp, { highWaterMark: 1 << 20 }));
    const { size } = await fs.promises.stat(tmp);
    if (size !== expected) {
      const what = range ? `bytes ${range.start}-${range.end ?? ''} of ${store.uri(key)}` : store.uri(key);
      throw new StorageError('storage_error', `Read ${size} of the ${expected} bytes of ${what} (cut off, or changed meanwhile).`);
    }
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/**
 * Keeps a part's local work folder and its copy in the store (`layout.work`) in step. A manifest beside the scratch
 * records each file as last synced (size, mtime, inode, and the object's version), so that: a file the store has
 * in another version than we last saw (another host wrote it) is downloaded; a local file changed since its last
 * sync (ours, newer) is kept and uploaded; an unchanged one is left alone.
 */
export class WorkSync {
  private manifest: Manifest | null = null;

  constructor(
    private readonly store: BlobStore,
    private readonly prefix: string,
    private readonly dir: string,
    private readonly manifestFile: string,
  ) {}

  private async load(): Promise<Manifest> {
    if (this.manifest) return this.manifest;
    try {
      this.manifest = JSON.parse(await fs.promises.readFile(this.manifestFile, 'utf8')) as Manifest;
    } catch {
      this.manifest = {};
    }
    return this.manifest;
  }

  private async save(): Promise<void> {
    await fs.promises.mkdir(path.dirname(this.manifestFile), { recursive: true });
    const tmp = `${this.manifestFile}.${crypto.randomBytes(4).toString('hex')}.tmp`;
    await fs.promises.writeFile(tmp, JSON.stringify(this.manifest ?? {}));
    await fs.promises.rename(tmp, this.manifestFile);
  }

  private fileOf(rel: string): string {
    return path.join(this.dir, ...rel.split('/'));
  }

  /** Brings the store's files of the work folder here (those changed by another host, or missing here). */
  async restore(): Promise<void> {
    const manifest = await this.load();
    const keys: string[] = [];
    for await (const entry of this.store.list(this.prefix)) keys.push(entry.key);
    let changed = false;
    for (const key of keys) {
      const rel = key.slice(this.prefix.length);
      if (!rel || rel.endsWith('.tmp')) continue;
      const file = this.fileOf(rel);
      const st = await statOrNull(file);
      const synced = manifest[rel];
      if (st && !sameFile(st, synced)) continue; // changed here since its last sync: ours is newer (uploaded after the call)
      const info = await this.store.head(key);
      if (!info) continue;
      if (st && synced && synced.version === versionOf(info)) continue; // the same on both sides
      await download(this.store, key, file, info.size);
      const now = await fs.promises.stat(file);
      manifest[rel] = { size: now.size, mtimeMs: now.mtimeMs, ino: now.ino, version: versionOf(info) };
      changed = true;
    }
    await fs.promises.mkdir(this.dir, { recursive: true });
    if (changed) await this.save();
  }

  /** Uploads the files of the work folder that are new or changed since their last sync. */
  async push(): Promise<void> {
    const manifest = await this.load();
    let changed = false;
    for (const rel of await walkFiles(this.dir)) {
      const file = this.fileOf(rel);
      const st = await statOrNull(file);
      if (!st || sameFile(st, manifest[rel])) continue;
      const key = this.prefix + rel;
      const put = await this.store.put(key, fs.createReadStream(file, { highWaterMark: 1 << 20 }));
      const version = put.etag ?? versionOf((await this.store.head(key)) ?? { size: put.size });
      // Recorded as it was before the upload: a change made meanwhile is seen (and uploaded) by the next push.
      manifest[rel] = { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, version };
      changed = true;
    }
    if (changed) await this.save();
  }

  private chain: Promise<void> = Promise.resolve();
  private queued = false;

  /** Pushes now, after any push under way, and reports a failure (unlike the pushes of `watch`). */
  async flush(): Promise<void> {
    const run = this.chain.then(() => this.push());
    this.chain = run.catch(() => undefined);
    await run;
  }

  /** Pushes each change of the folder soon after it happens (serialized), until the returned stop is awaited. */
  watch(): () => Promise<void> {
    let watcher: fs.FSWatcher | null = null;
    const schedule = () => {
      if (this.queued) return;
      this.queued = true;
      this.chain = this.chain
        .then(() => new Promise((r) => setTimeout(r, 10)))
        .then(() => {
          this.queued = false;
          return this.push();
        })
        .catch(() => undefined); // the push after the call reports what still fails
    };
    try {
      watcher = fs.watch(this.dir, { persistent: false }, (_event, name) => {
        if (name && (String(name).startsWith(SCRATCH_TEMP) || String(name).endsWith('.tmp'))) return;
        schedule();
      });
      watcher.on('error', () => undefined);
    } catch {
      watcher = null; // a file system without change events: the push after the call still syncs
    }
    return async () => {
      watcher?.close();
      await this.chain;
    };
  }
}
