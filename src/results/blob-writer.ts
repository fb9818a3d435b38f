/**
 * Streaming writes into the blob store with flat memory: bytes (or JSON lines) go through a PassThrough into
 * `store.put`, which streams them on (S3: a multipart upload of fixed-size parts; local: a temp file renamed
 * into place). Nothing is visible at the key until `close()` resolves; `discard()` (or a failed write) leaves
 * the key as it was.
 */
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { Readable } from 'node:stream';
import type { BlobStore, ByteRange, PutResult } from '../storage/types';
import { LineBlocks, splitLines } from './jsonl';

/** Small writes are gathered into blocks of this size before they go to the upload. */
const BLOCK_BYTES = 256 * 1024;

export class BlobWriter {
  private readonly body = new PassThrough({ highWaterMark: 1 << 20 });
  private readonly done: Promise<PutResult>;
  private failure: unknown = null;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private settled = false;
  /** Bytes written so far. */
  bytes = 0;

  constructor(
    readonly store: BlobStore,
    readonly key: string,
    contentType = 'application/jsonl',
  ) {
    this.done = store.put(key, this.body, { contentType });
    // Kept, so that the next write rethrows it (and it is never an unhandled rejection).
    this.done.then(
      () => (this.settled = true),
      (err: unknown) => {
        this.settled = true;
        this.failure ??= err;
      },
    );
  }

  async write(chunk: Buffer | string): Promise<void> {
    if (this.failure) throw this.failure;
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.bytes += buf.length;
    // Copies: the caller's buffer may be reused once the write resolves (readFileChunks, splitLines views, a
    // splitter's block), while the upload may still hold what was written.
    if (buf.length >= BLOCK_BYTES) {
      await this.flush();
      await this.push(Buffer.from(buf));
      return;
    }
    this.pending.push(Buffer.from(buf));
    this.pendingBytes += buf.length;
    if (this.pendingBytes >= BLOCK_BYTES) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const block = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    await this.push(block);
  }

  /** Writes with backpressure; an upload that fails meanwhile ends the wait with its error. */
  private async push(buf: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.body.write(buf)) return;
    const ac = new AbortController();
    const ended = this.done.then(() => {
      throw new Error(`the write of ${this.store.uri(this.key)} ended before its body`);
    });
    ended.catch(() => undefined); // the race's loser must not be an unhandled rejection
    try {
      await Promise.race([once(this.body, 'drain', { signal: ac.signal }), ended]);
    } catch (err) {
      throw this.failure ?? err;
    } finally {
      ac.abort();
    }
  }

  /** Ends the body and waits until the object is stored (then it is visible, complete). */
  async close(): Promise<PutResult> {
    if (this.failure) throw this.failure;
    await this.flush();
    this.body.end();
    return this.done;
  }

  /** Abandons the write: nothing is stored at the key (an existing object stays as it was). */
  async discard(reason: unknown = new Error('write discarded')): Promise<void> {
    this.pending = [];
    if (!this.settled) this.body.destroy(reason instanceof Error ? reason : new Error(String(reason)));
    await this.done.catch(() => undefined);
  }
}

/**
 * JSON lines into the store, counted, gathered into blocks as `JsonlWriter` gathers them: `write` returns a promise
 * only when a block went to the upload (await it then), so a line costs no promise.
 */
export class BlobJsonlWriter {
  private readonly out: BlobWriter;
  count = 0;
  private readonly lines: LineBlocks;
  /** The writes of the blocks emitted by the last `write`, in order. */
  private pending: Promise<void> | undefined;

  constructor(store: BlobStore, key: string) {
    this.out = new BlobWriter(store, key);
    this.lines = new LineBlocks((bytes) => {
      const before = this.pending;
      this.pending = before ? before.then(() => this.out.write(bytes)) : this.out.write(bytes);
      return false;
    });
  }

  get key(): string {
    return this.out.key;
  }

  write(value: unknown): Promise<void> | undefined {
    this.count += 1;
    if (this.lines.add(value)) return undefined;
    const wait = this.pending;
    this.pending = undefined;
    return wait;
  }

  async close(): Promise<PutResult> {
    this.lines.flush();
    const wait = this.pending;
    this.pending = undefined;
    if (wait) await wait;
    return this.out.close();
  }

  async discard(reason?: unknown): Promise<void> {
    this.lines.clear();
    const wait = this.pending;
    this.pending = undefined;
    await wait?.catch(() => undefined);
    await this.out.discard(reason);
  }
}

/** The bytes of an object, as chunks (the stream is destroyed when the reader stops early). */
export async function* objectChunks(store: BlobStore, key: string, range?: ByteRange): AsyncGenerator<Buffer> {
  const stream: Readable = await store.get(key, range);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer | Uint8Array | string>) {
      yield typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }
  } finally {
    if (!stream.destroyed) stream.destroy();
  }
}

/** Counts the non-empty lines of an object without holding it in memory. */
export async function countObjectLines(store: BlobStore, key: string): Promise<number> {
  let n = 0;
  for await (const line of splitLines(objectChunks(store, key))) if (line.length > 0) n += 1;
  return n;
}
