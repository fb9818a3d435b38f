/**
 * The local folder store: keys map to paths beneath `root` (today's ANYBATCH_HOME layout, e.g.
 * `results/<batch>/output.jsonl` is `$ANYBATCH_HOME/results/<batch>/output.jsonl`).
 *
 * A put writes a temp file (`.anybatch-tmp-*`) in the key's own folder, fsyncs it, then renames it into
 * place (or, for a conditional create, hard-links it: `link` fails atomically with EEXIST when the key
 * exists) and fsyncs the folder. Readers therefore see the old object or the complete new one, never a
 * partial file; temp files are never listed and a failed put removes its own.
 *
 * One difference from S3 follows from folders: a key cannot be both an object and a folder of other keys
 * (`a` and `a/b`); such a put fails with a StorageError. anybatch's key layout never does that.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, addAbortSignal } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { BlobExistsError, BlobNotFoundError, StorageError } from './errors';
import { TEMP_PREFIX, validateKey, validatePrefix } from './keys';
import type { BlobBody, BlobInfo, BlobStore, ByteRange, ListEntry, ListOptions, PutOptions, PutResult } from './types';
import { checkRange } from './range';

export interface LocalStoreOptions {
  /** The folder the keys live under (created on first write). */
  root: string;
  /** fsync the file before it becomes visible and its folder after (default true). */
  durable?: boolean;
}

type Errno = NodeJS.ErrnoException;
const code = (err: unknown): string | undefined => (err as Errno | undefined)?.code;

export class LocalBlobStore implements BlobStore {
  readonly kind = 'local' as const;
  readonly root: string;
  private readonly durable: boolean;

  constructor(opts: LocalStoreOptions | string) {
    const o = typeof opts === 'string' ? { root: opts } : opts;
    this.root = path.resolve(o.root);
    this.durable = o.durable ?? true;
  }

  /** The file a key maps to. */
  pathOf(key: string): string {
    validateKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  uri(key: string): string {
    return pathToFileURL(this.pathOf(key)).href;
  }

  localFile(key: string): string {
    return this.pathOf(key);
  }

  async removeFolder(prefix: string): Promise<void> {
    if (!prefix.endsWith('/')) throw new StorageError('storage_error', `removeFolder takes a folder prefix ending in "/" (got ${JSON.stringify(prefix)})`);
    await fs.promises.rm(this.pathOf(prefix.slice(0, -1)), { recursive: true, force: true });
  }

  rootUri(): string {
    return pathToFileURL(this.root).href.replace(/\/?$/, '/');
  }

  describe(): string {
    return `local folder ${this.root}`;
  }

  async check(): Promise<void> {
    try {
      await fs.promises.mkdir(this.root, { recursive: true });
      await fs.promises.access(this.root, fs.constants.R_OK | fs.constants.W_OK);
    } catch (err) {
      throw new StorageError('storage_config', `Cannot use the ${this.describe()}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Creates the folder when missing (`check` would too) and says whether it did. */
  async ensure(): Promise<'created' | 'exists'> {
    const existed = fs.existsSync(this.root);
    await this.check();
    return existed ? 'exists' : 'created';
  }

  async put(key: string, body: BlobBody, opts: PutOptions = {}): Promise<PutResult> {
    const file = this.pathOf(key);
    const dir = path.dirname(file);
    opts.signal?.throwIfAborted();
    try {
      await fs.promises.mkdir(dir, { recursive: true });
    } catch (err) {
      if (body instanceof Readable) body.destroy();
      throw this.writeError(key, err);
    }
    const tmp = path.join(dir, `${TEMP_PREFIX}${crypto.randomBytes(8).toString('hex')}`);
    let fh: fs.promises.FileHandle | undefined;
    try {
      fh = await fs.promises.open(tmp, 'wx', 0o644);
      const size = await writeBody(fh, body, opts.signal);
      if (this.durable) await fh.sync();
      await fh.close();
      fh = undefined;
      opts.signal?.throwIfAborted();
      if (opts.ifNoneMatch) await this.createExclusive(key, tmp, file);
      else await fs.promises.rename(tmp, file);
      if (this.durable) await fsyncDir(dir);
      return { size };
    } catch (err) {
      if (body instanceof Readable && !body.destroyed) body.destroy();
      await fh?.close().catch(() => undefined);
      await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
      // The body's own failure, an abort or a refused create go to the caller as they are.
      if (!isFsError(err) || opts.signal?.aborted || (body instanceof Readable && body.errored === err)) throw err;
      throw this.writeError(key, err);
    }
  }

  /** Publishes `tmp` at `file` only if nothing is there: `link` is atomic and fails with EEXIST. */
  private async createExclusive(key: string, tmp: string, file: string): Promise<void> {
    try {
      await fs.promises.link(tmp, file);
    } catch (err) {
      if (code(err) === 'EEXIST') throw new BlobExistsError(key, this.uri(key));
      if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'].includes(code(err) ?? '')) throw err;
      // A file system without hard links: still an exclusive create, but the copy is not atomic.
      try {
        await fs.promises.copyFile(tmp, file, fs.constants.COPYFILE_EXCL);
      } catch (err2) {
        if (code(err2) === 'EEXIST') throw new BlobExistsError(key, this.uri(key));
        throw err2;
      }
    } finally {
      await fs.promises.rm(tmp, { force: true });
    }
  }

  private writeError(key: string, err: unknown): StorageError {
    const why = code(err) === 'ENOTDIR' || code(err) === 'EEXIST' ? 'a parent of the key is an object' : code(err) === 'EISDIR' ? 'the key is a folder of other keys' : (err as Error).message;
    return new StorageError('storage_error', `Cannot write ${this.uri(key)}: ${why}`, { cause: err });
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const file = this.pathOf(key);
    if (range) checkRange(range);
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(file, 'r');
    } catch (err) {
      if (['ENOENT', 'ENOTDIR', 'EISDIR'].includes(code(err) ?? '')) throw new BlobNotFoundError(key, this.uri(key), { cause: err });
      throw new StorageError('storage_error', `Cannot read ${this.uri(key)}: ${(err as Error).message}`, { cause: err });
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new BlobNotFoundError(key, this.uri(key));
      const start = range?.start ?? 0;
      if (start >= st.size) {
        await fh.close();
        return Readable.from([]);
      }
      const end = Math.min(range?.end ?? Infinity, st.size - 1);
      return fh.createReadStream({ start, end, autoClose: true, highWaterMark: 1 << 20 });
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
  }

  async head(key: string): Promise<BlobInfo | null> {
    const file = this.pathOf(key);
    try {
      const st = await fs.promises.stat(file);
      return st.isFile() ? { size: st.size, modifiedAt: st.mtime } : null;
    } catch (err) {
      if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') return null;
      throw new StorageError('storage_error', `Cannot stat ${this.uri(key)}: ${(err as Error).message}`, { cause: err });
    }
  }

  async *list(prefix: string, opts: ListOptions = {}): AsyncIterable<ListEntry> {
    validatePrefix(prefix);
    const cut = prefix.lastIndexOf('/') + 1;
    const after = opts.startAfter !== undefined ? Buffer.from(opts.startAfter) : null;
    for await (const entry of this.walk(prefix.slice(0, cut), prefix.slice(cut))) {
      // A folder is read whole here (its names sorted in memory), so the cursor filters what it yields.
      if (after === null || Buffer.compare(Buffer.from(entry.key), after) > 0) yield entry;
    }
  }

  /** Keys under the folder `dirKey` (`''` or ending in `/`) whose name starts with `namePrefix`, in bytewise key order. */
  private async *walk(dirKey: string, namePrefix: string): AsyncGenerator<ListEntry> {
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(path.join(this.root, ...dirKey.split('/').filter(Boolean)), { withFileTypes: true });
    } catch (err) {
      if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') return;
      throw new StorageError('storage_error', `Cannot list ${this.describe()} at ${JSON.stringify(dirKey)}: ${(err as Error).message}`, { cause: err });
    }
    // A folder sorts as "name/" so that the concatenated keys come out in the same bytewise order as S3's.
    const named = entries
      .filter((e) => e.name.startsWith(namePrefix) && !e.name.startsWith(TEMP_PREFIX))
      .map((e) => ({ e, sortKey: Buffer.from(e.isDirectory() ? `${e.name}/` : e.name) }))
      .sort((a, b) => Buffer.compare(a.sortKey, b.sortKey));
    for (const { e } of named) {
      const key = dirKey + e.name;
      if (e.isDirectory()) {
        yield* this.walk(`${key}/`, '');
        continue;
      }
      try {
        validateKey(key);
      } catch {
        continue; // a file no key can name (e.g. a backslash in its name): not an object of this store
      }
      let st: fs.Stats;
      try {
        st = await fs.promises.stat(path.join(this.root, ...key.split('/')));
      } catch (err) {
        if (code(err) === 'ENOENT') continue; // deleted meanwhile
        throw err;
      }
      if (st.isFile()) yield { key, size: st.size };
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.pathOf(key);
    try {
      await fs.promises.unlink(file);
    } catch (err) {
      if (['ENOENT', 'ENOTDIR', 'EISDIR'].includes(code(err) ?? '')) return;
      throw new StorageError('storage_error', `Cannot delete ${this.uri(key)}: ${(err as Error).message}`, { cause: err });
    }
  }
}

function isFsError(err: unknown): boolean {
  return typeof (err as Errno | undefined)?.syscall === 'string';
}

async function writeAll(fh: fs.promises.FileHandle, buf: Uint8Array): Promise<void> {
  let off = 0;
  while (off < buf.byteLength) {
    const { bytesWritten } = await fh.write(buf, off, buf.byteLength - off);
    off += bytesWritten;
  }
}

async function writeBody(fh: fs.promises.FileHandle, body: BlobBody, signal?: AbortSignal): Promise<number> {
  if (typeof body === 'string' || Buffer.isBuffer(body) || body instanceof Uint8Array) {
    const buf = typeof body === 'string' ? Buffer.from(body) : body;
    await writeAll(fh, buf);
    return buf.byteLength;
  }
  if (signal) addAbortSignal(signal, body);
  let size = 0;
  for await (const chunk of body as AsyncIterable<unknown>) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
    await writeAll(fh, buf);
    size += buf.byteLength;
  }
  return size;
}

async function fsyncDir(dir: string): Promise<void> {
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(dir, 'r');
    await fh.sync();
  } catch (err) {
    // Some platforms cannot open or fsync a folder; the file itself was fsynced.
    if (!['EISDIR', 'EINVAL', 'EPERM', 'ENOTSUP', 'EBADF'].includes(code(err) ?? '')) throw err;
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/** The folder a store's objects are files in, on this host: the local folder store's root; null for S3. */
export function localRootOf(store: BlobStore): string | null {
  return store instanceof LocalBlobStore ? store.root : null;
}
