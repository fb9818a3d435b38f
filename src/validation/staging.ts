import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { BlobStore, PutResult } from '../storage/types';

const WRITE_BUFFER_BYTES = 1 << 20;

/**
 * A file written under a temporary name beside its destination and renamed into place only by `commit`,
 * so readers never see a partial copy.
 */
export class StagedFile {
  private failure: Error | null = null;

  private constructor(
    private readonly path: string,
    private readonly tempPath: string,
    private readonly out: WriteStream,
  ) {
    // Keeps a write error from being unhandled between writes; the next call rethrows it.
    out.on('error', (error) => {
      this.failure ??= error;
    });
  }

  static async create(path: string): Promise<StagedFile> {
    const tempPath = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    // flush: fsync before close, so the renamed copy survives a machine crash and not just a process crash.
    const out = createWriteStream(tempPath, { flags: 'wx', highWaterMark: WRITE_BUFFER_BYTES, flush: true });
    const file = new StagedFile(path, tempPath, out);
    // A missing folder or a permission problem shows now, before the whole input is read.
    await once(file.out, 'open');
    return file;
  }

  /** Resolves once the stream can take more, which holds the reader back when the disk is slower. */
  async write(bytes: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.out.write(bytes)) await once(this.out, 'drain');
  }

  async commit(): Promise<void> {
    if (this.failure) throw this.failure;
    this.out.end();
    await finished(this.out);
    await rename(this.tempPath, this.path);
  }

  async discard(): Promise<void> {
    this.out.destroy();
    await finished(this.out).catch(() => undefined);
    await rm(this.tempPath, { force: true });
  }
}

/**
 * The store-backed equivalent of `StagedFile`, for a blob store that is not a local folder (S3): the bytes go
 * through a `PassThrough` straight into `store.put(key, stream)` as they are written (no local copy, flat
 * memory: the store holds a few parts at most). `commit` ends the stream and waits until the object is
 * complete; `discard` aborts the put, so no object (nor an unfinished multipart upload) is left, and deletes the
 * object when it had already been committed.
 */
export class StagedObject {
  private readonly body = new PassThrough({ highWaterMark: WRITE_BUFFER_BYTES });
  private readonly aborter = new AbortController();
  private readonly put: Promise<PutResult>;
  /** Rejects when the put fails before `commit` (so a writer waiting for `drain` is not left waiting). */
  private readonly failed: Promise<never>;
  private failure: unknown = null;
  private committed = false;

  private constructor(
    private readonly store: BlobStore,
    readonly key: string,
  ) {
    this.put = store.put(key, this.body, { signal: this.aborter.signal, contentType: 'application/jsonl' });
    this.failed = this.put.then(
      () => Promise.reject(new Error(`The write of ${store.uri(key)} ended before its stream did.`)),
      (error: unknown) => {
        this.failure ??= error;
        throw error;
      },
    );
    // Handled here; the writer sees the failure through `write` and `commit`.
    this.failed.catch(() => undefined);
    this.body.on('error', (error) => {
      this.failure ??= error;
    });
  }

  /** Starts the put at once: an unusable store shows on the first part, not after the whole input was read. */
  static create(store: BlobStore, key: string): StagedObject {
    return new StagedObject(store, key);
  }

  async write(bytes: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.body.write(bytes)) await Promise.race([once(this.body, 'drain'), this.failed]);
  }

  async commit(): Promise<PutResult> {
    if (this.failure) throw this.failure;
    this.body.end();
    const result = await this.put;
    this.committed = true;
    return result;
  }

  async discard(): Promise<void> {
    if (this.committed) {
      await this.store.delete(this.key);
      return;
    }
    this.aborter.abort(new Error(`Staging of ${this.store.uri(this.key)} was abandoned.`));
    await this.put.catch(() => undefined);
  }
}
