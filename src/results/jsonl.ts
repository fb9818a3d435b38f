/** Streaming JSONL reading and writing with flat memory. */
import fs from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { Readable } from 'node:stream';

/** How many first bytes of a line that cannot be read are kept: enough to name it and find its custom_id. */
export const LINE_HEAD_BYTES = 1024;

/**
 * A line longer than `maxLineBytes`, yielded by `splitLines` in the line's place. Its bytes past the bound were
 * dropped as they arrived, never buffered: one huge line (or a body with no newline at all) cannot grow memory
 * without bound, and the lines after it are still read.
 */
export class OverlongLine {
  constructor(
    /** 1-based, counting every line (blank ones too). */
    readonly line: number,
    /** Its length in bytes before its newline, as far as it was read (all of it, unless the stream ended first). */
    readonly bytes: number,
    /** A copy of its first bytes (at most `LINE_HEAD_BYTES`). */
    readonly head: Buffer,
  ) {}
}

export interface SplitLinesOptions {
  /**
   * Longest line yielded, in bytes before its newline (a CR before the newline counts). A longer line is never
   * buffered past the bound: its bytes are dropped up to the next newline and an `OverlongLine` comes in its place.
   */
  maxLineBytes?: number;
}

/**
 * Yields each line of a byte stream (without its newline or a CR before it), as Buffers. Lines are views into
 * the chunk being read, valid until the next line is asked for; only a line that spans chunks is copied. So a
 * large input streams without an allocation per chunk, and the chunks may even be one reused buffer
 * (`readFileChunks`). With `maxLineBytes`, a longer line comes as an `OverlongLine` instead of its bytes.
 */
export function splitLines(stream: AsyncIterable<Buffer | Uint8Array>): AsyncGenerator<Buffer>;
export function splitLines(stream: AsyncIterable<Buffer | Uint8Array>, opts: SplitLinesOptions): AsyncGenerator<Buffer | OverlongLine>;
export async function* splitLines(stream: AsyncIterable<Buffer | Uint8Array>, opts: SplitLinesOptions = {}): AsyncGenerator<Buffer | OverlongLine> {
  // Infinity when unbounded: the check per line is one comparison, so the unbounded path costs what it did.
  const max = opts.maxLineBytes ?? Infinity;
  let pending: Buffer[] = []; // the start of a line that spans chunks
  let pendingBytes = 0;
  // An over-long line whose rest is being dropped up to its newline: only its length so far and first bytes are kept.
  let dropping: { bytes: number; head: Buffer } | null = null;
  let lineNo = 0;
  const joined = (tail: Buffer) => {
    const line = Buffer.concat([...pending, tail]);
    pending = [];
    pendingBytes = 0;
    return line.length > 0 && line[line.length - 1] === 13 ? line.subarray(0, line.length - 1) : line;
  };
  for await (const chunk of stream) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    let nl = buf.indexOf(10);
    if (dropping !== null) {
      const end = nl === -1 ? buf.length : nl;
      // The head fills up to its size whatever the chunking (a copy of at most LINE_HEAD_BYTES in all).
      if (dropping.head.length < LINE_HEAD_BYTES) dropping.head = Buffer.concat([dropping.head, buf.subarray(0, Math.min(end, LINE_HEAD_BYTES - dropping.head.length))]);
      dropping.bytes += end;
      if (nl === -1) continue;
      yield new OverlongLine(++lineNo, dropping.bytes, dropping.head);
      dropping = null;
      start = nl + 1;
      nl = buf.indexOf(10, start);
    } else if (pending.length > 0) {
      const end = nl === -1 ? buf.length : nl;
      if (pendingBytes + end > max) {
        // Only the head is copied (Buffer.concat stops at the length asked for); the rest is never kept.
        const bytes = pendingBytes + end;
        const head = Buffer.concat([...pending, buf.subarray(0, end)], Math.min(bytes, LINE_HEAD_BYTES));
        pending = [];
        pendingBytes = 0;
        if (nl === -1) {
          dropping = { bytes, head };
          continue;
        }
        yield new OverlongLine(++lineNo, bytes, head);
      } else {
        if (nl === -1) {
          pending.push(Buffer.from(buf)); // a copy: the chunk's buffer may be reused
          pendingBytes += buf.length;
          continue;
        }
        lineNo += 1;
        yield joined(buf.subarray(0, nl));
      }
      start = nl + 1;
      nl = buf.indexOf(10, start);
    }
    for (; nl !== -1; nl = buf.indexOf(10, start)) {
      lineNo += 1;
      if (nl - start > max) yield new OverlongLine(lineNo, nl - start, Buffer.from(buf.subarray(start, Math.min(nl, start + LINE_HEAD_BYTES))));
      else yield buf.subarray(start, nl > start && buf[nl - 1] === 13 ? nl - 1 : nl);
      start = nl + 1;
    }
    if (start < buf.length) {
      const rest = buf.length - start;
      if (rest > max) {
        dropping = { bytes: rest, head: Buffer.from(buf.subarray(start, start + LINE_HEAD_BYTES)) };
      } else {
        pending.push(Buffer.from(buf.subarray(start))); // a copy: the chunk's buffer may be reused
        pendingBytes += rest;
      }
    }
  }
  if (dropping !== null) {
    yield new OverlongLine(++lineNo, dropping.bytes, dropping.head);
  } else if (pending.length > 0) {
    const last = joined(Buffer.alloc(0));
    if (last.length > 0) yield last;
  }
}

/**
 * Yields a file's bytes through one reused buffer: each chunk is only valid until the next one is asked for.
 * Reading a 200 MB file this way allocates nothing per chunk (a read stream allocates every chunk afresh, and
 * V8 frees those late, which shows as tens of MB of RSS).
 */
export async function* readFileChunks(file: string, chunkBytes = 1 << 20, range?: { start: number; end: number }): AsyncGenerator<Buffer> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(chunkBytes);
    // With a range (both ends inclusive), only those bytes.
    let position = range?.start ?? 0;
    let left = range ? range.end - range.start + 1 : Infinity;
    while (left > 0) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(chunkBytes, left), position);
      if (bytesRead === 0) return;
      position += bytesRead;
      left -= bytesRead;
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
  /** Longest line read, in bytes (see `splitLines`); absent: no bound. */
  maxLineBytes?: number;
  /**
   * What a line that cannot be read does (not JSON, longer than `maxLineBytes`, or with `report` also a JSON value
   * that is not an object). `throw` (the default) fails the read: right for files anybatch wrote itself, where such
   * a line is corruption. `report` yields a `MalformedLine` in its place and reads on: right for a provider's
   * results, where every other line is a result already paid for.
   */
  malformed?: 'throw' | 'report';
}

/** A line `readJsonLines` could not read, yielded in its place with `malformed: 'report'`. */
export class MalformedLine {
  constructor(
    /** The `source` read, e.g. `file file-abc`. */
    readonly source: string,
    /** 1-based, counting every line (blank ones too). */
    readonly line: number,
    /** `not_json`: does not parse; `not_object`: parses, but not to an object; `too_long`: over `maxLineBytes`. */
    readonly reason: 'not_json' | 'not_object' | 'too_long',
    /** Its length in bytes (for `too_long`, as far as it was read). */
    readonly bytes: number,
    /** A copy of its first bytes (at most `LINE_HEAD_BYTES`): enough to name it, and perhaps find its custom_id. */
    readonly head: Buffer,
  ) {}
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses each non-blank line as JSON. A body cut off (`expectedBytes`) always throws: that is a transport fault, to
 * be retried. A line that cannot be read throws, or with `malformed: 'report'` comes as a `MalformedLine`.
 */
export function readJsonLines<T>(stream: Readable, opts: ReadJsonLinesOptions & { malformed: 'report' }): AsyncGenerator<T | MalformedLine>;
export function readJsonLines<T>(stream: Readable, opts: ReadJsonLinesOptions & { malformed?: 'throw' }): AsyncGenerator<T>;
export async function* readJsonLines<T>(stream: Readable, opts: ReadJsonLinesOptions): AsyncGenerator<T | MalformedLine> {
  const report = opts.malformed === 'report';
  let bytes = 0;
  let lineNo = 0;
  const counted = (async function* () {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      yield chunk;
    }
  })();
  for await (const line of splitLines(counted, { maxLineBytes: opts.maxLineBytes })) {
    lineNo += 1;
    if (line instanceof OverlongLine) {
      if (!report) throw new Error(`${opts.source}, line ${lineNo}: longer than ${opts.maxLineBytes} bytes`);
      yield new MalformedLine(opts.source, lineNo, 'too_long', line.bytes, line.head);
      continue;
    }
    const text = line.toString('utf8');
    if (text.trim() === '') continue;
    let value: T;
    try {
      value = JSON.parse(text) as T;
    } catch {
      if (!report) throw new Error(`${opts.source}, line ${lineNo}: not valid JSON (cut off or corrupt)`);
      // A copy: the line is a view into a chunk that the next read may reuse.
      yield new MalformedLine(opts.source, lineNo, 'not_json', line.length, Buffer.from(line.subarray(0, LINE_HEAD_BYTES)));
      continue;
    }
    if (report && !isObject(value)) {
      yield new MalformedLine(opts.source, lineNo, 'not_object', line.length, Buffer.from(line.subarray(0, LINE_HEAD_BYTES)));
      continue;
    }
    yield value;
  }
  if (opts.expectedBytes != null && bytes !== opts.expectedBytes) {
    throw new Error(`${opts.source}: received ${bytes} of ${opts.expectedBytes} bytes (cut off)`);
  }
}

/** JSON lines are gathered into blocks of this many bytes: one write per block, not per line. */
export const LINE_BLOCK_BYTES = 256 * 1024;

/**
 * JSON lines encoded straight into blocks of bytes, each handed to `emit` once full: one write per block instead of
 * one per line, and no string per block. An emitted block belongs to the receiver (a fresh one is taken).
 */
export class LineBlocks {
  private block = Buffer.allocUnsafe(LINE_BLOCK_BYTES);
  private used = 0;

  /** `emit` returns false when the receiver asks the writer to wait (a stream's backpressure). */
  constructor(private readonly emit: (bytes: Buffer) => boolean) {}

  /** Adds `value` as one line; false when an emit asked to wait. */
  add(value: unknown): boolean {
    const text = JSON.stringify(value);
    // UTF-8 takes at most 3 bytes per UTF-16 code unit, so the line surely fits in `most`.
    const most = text.length * 3 + 1;
    let ok = true;
    if (this.used + most > this.block.length) ok = this.flush();
    if (most > this.block.length) return this.emit(Buffer.from(text + '\n')) && ok;
    this.used += this.block.write(text, this.used);
    this.block[this.used++] = 0x0a;
    return ok;
  }

  /** Emits the lines gathered so far, if any. */
  flush(): boolean {
    if (this.used === 0) return true;
    const full = this.block.subarray(0, this.used);
    this.block = Buffer.allocUnsafe(LINE_BLOCK_BYTES);
    this.used = 0;
    return this.emit(full);
  }

  /** Drops the lines gathered so far. */
  clear(): void {
    this.used = 0;
  }
}

/**
 * Appends JSON lines to a file with backpressure. `write` gathers lines into blocks (`LineBlocks`) and returns a
 * promise only when the caller has to wait (the stream is full until it drains): a caller writes `const wait =
 * out.write(v); if (wait) await wait;`, and a line costs no promise.
 */
export class JsonlWriter {
  private readonly out: fs.WriteStream;
  count = 0;
  private readonly lines: LineBlocks;

  /** A write error, kept so it is thrown by the next call (and never escapes as an unhandled 'error' event). */
  private failure: Error | null = null;

  constructor(readonly path: string) {
    this.out = fs.createWriteStream(path, { flags: 'w', highWaterMark: 1 << 20 });
    this.out.on('error', (err) => (this.failure ??= err));
    this.lines = new LineBlocks((bytes) => this.out.write(bytes));
  }

  write(value: unknown): Promise<void> | undefined {
    if (this.failure) throw this.failure;
    this.count += 1;
    return this.lines.add(value) ? undefined : once(this.out, 'drain').then(() => undefined);
  }

  async close(): Promise<void> {
    if (this.failure) throw this.failure;
    this.lines.flush();
    this.out.end();
    await once(this.out, 'finish');
    const fd = await fs.promises.open(this.path, 'r+');
    await fd.sync().finally(() => fd.close());
  }

  /** Abandons the file: closes the stream (waiting for a pending open, which would otherwise recreate it) and removes it. */
  async discard(): Promise<void> {
    this.lines.clear();
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
