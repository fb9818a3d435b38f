/** Streaming JSONL reading and writing with flat memory. */
import fs from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { Readable } from 'node:stream';

/**
 * Yields each line of a byte stream (without its newline or a CR before it), as Buffers. Lines are views into
 * the chunk being read, valid until the next line is asked for; only a line that spans chunks is copied. So a
 * large input streams without an allocation per chunk, and the chunks may even be one reused buffer
 * (`readFileChunks`).
 */
export async function* splitLines(stream: AsyncIterable<Buffer | Uint8Array>): AsyncGenerator<Buffer> {
  let pending: Buffer[] = []; // the start of a line that spans chunks
  const joined = (tail: Buffer) => {
    const line = Buffer.concat([...pending, tail]);
    pending = [];
    return line.length > 0 && line[line.length - 1] === 13 ? line.subarray(0, line.length - 1) : line;
  };
  for await (const chunk of stream) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    let nl = buf.indexOf(10);
    if (pending.length > 0) {
      if (nl === -1) {
        pending.push(Buffer.from(buf)); // a copy: the chunk's buffer may be reused
        continue;
      }
      yield joined(buf.subarray(0, nl));
      start = nl + 1;
      nl = buf.indexOf(10, start);
    }
    for (; nl !== -1; nl = buf.indexOf(10, start)) {
      yield buf.subarray(start, nl > start && buf[nl - 1] === 13 ? nl - 1 : nl);
      start = nl + 1;
    }
    if (start < buf.length) pending.push(Buffer.from(buf.subarray(start))); // a copy: the chunk's buffer may be reused
  }
  if (pending.length > 0) {
    const last = joined(Buffer.alloc(0));
    if (last.length > 0) yield last;
  }
}

/**
 * Yields a file's bytes through one reused buffer: each chunk is only valid until the next one is asked for.
 * Reading a 200 MB file this way allocates nothing per chunk (a read stream allocates every chunk afresh, and
 * V8 frees those late, which shows as tens of MB of RSS).
 */
export async function* readFileChunks(file: string, chunkBytes = 1 << 20): AsyncGenerator<Buffer> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(chunkBytes);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, chunkBytes, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

export interface ReadJsonLinesOptions {
  /** Named in errors, e.g. `file file-abc`. */
  source: string;
  /** When known (Content-Length), a body of another size is reported as cut off. */
  expectedBytes?: number | null;
}

/** Parses each non-blank line as JSON. Throws on a line that does not parse or a body that is cut off. */
export async function* readJsonLines<T>(stream: Readable, opts: ReadJsonLinesOptions): AsyncGenerator<T> {
  let bytes = 0;
  let lineNo = 0;
  const counted = (async function* () {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      yield chunk;
    }
  })();
  for await (const line of splitLines(counted)) {
    lineNo += 1;
    const text = line.toString('utf8');
    if (text.trim() === '') continue;
    let value: T;
    try {
      value = JSON.parse(text) as T;
    } catch {
      throw new Error(`${opts.source}, line ${lineNo}: not valid JSON (cut off or corrupt)`);
    }
    yield value;
  }
  if (opts.expectedBytes != null && bytes !== opts.expectedBytes) {
    throw new Error(`${opts.source}: received ${bytes} of ${opts.expectedBytes} bytes (cut off)`);
  }
}

/** Appends JSON lines to a file with backpressure. */
export class JsonlWriter {
  private readonly out: fs.WriteStream;
  count = 0;

  /** A write error, kept so it is thrown by the next call (and never escapes as an unhandled 'error' event). */
  private failure: Error | null = null;

  constructor(readonly path: string) {
    this.out = fs.createWriteStream(path, { flags: 'w', highWaterMark: 1 << 20 });
    this.out.on('error', (err) => (this.failure ??= err));
  }

  async write(value: unknown): Promise<void> {
    if (this.failure) throw this.failure;
    this.count += 1;
    if (!this.out.write(JSON.stringify(value) + '\n')) await once(this.out, 'drain');
  }

  async close(): Promise<void> {
    if (this.failure) throw this.failure;
    this.out.end();
    await once(this.out, 'finish');
    const fd = await fs.promises.open(this.path, 'r+');
    await fd.sync().finally(() => fd.close());
  }

  /** Abandons the file: closes the stream (waiting for a pending open, which would otherwise recreate it) and removes it. */
  async discard(): Promise<void> {
    this.out.destroy();
    await finished(this.out).catch(() => undefined);
    await fs.promises.rm(this.path, { force: true });
  }
}

/** Counts the lines of a JSONL file without holding it in memory. */
export async function countLines(file: string): Promise<number> {
  let n = 0;
  for await (const line of splitLines(readFileChunks(file))) if (line.length > 0) n += 1;
  return n;
}
