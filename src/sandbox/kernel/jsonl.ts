/**
 * JSONL in and out: line-by-line reading of a batch's input (shared by validation and output generation so
 * both agree) and the streamed writers of result files.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, promises as fs, type WriteStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';

export interface InputLine {
  /** 1-based line number in the file. */
  line: number;
  text: string;
}

/** Yields the non-blank lines of a JSONL file; blank lines (a trailing newline, say) are not requests. */
export async function* readInputLines(path: string): AsyncGenerator<InputLine> {
  const input = createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const raw of lines) {
      line++;
      const text = line === 1 ? raw.replace(/^\uFEFF/, '') : raw;
      if (text.trim() !== '') yield { line, text };
    }
  } finally {
    lines.close();
    input.destroy();
  }
}

export interface WrittenFile {
  path: string;
  bytes: number;
}

export interface WrittenLines extends WrittenFile {
  /** `offsets[i]` is where line i starts; the last entry is the file's size. */
  offsets: number[];
}

/**
 * Streams JSON lines into a temp file opened on the first line, so a file that would be empty is never
 * created. It notes where each line starts, so the file can be shuffled afterwards without reading it whole.
 */
export class LazyJsonlWriter {
  private stream: WriteStream | null = null;
  private failure: Error | null = null;
  private readonly path: string;
  private readonly offsets: number[] = [0];

  constructor(tmpDir: string) {
    this.path = path.join(tmpDir, `output-${randomBytes(8).toString('hex')}`);
  }

  async write(line: unknown): Promise<void> {
    if (!this.stream) {
      this.stream = createWriteStream(this.path);
      // A write error arrives later as an event; keep it for the next call instead of crashing the process.
      this.stream.on('error', (err) => {
        this.failure = err;
      });
    }
    if (this.failure) throw this.failure;
    const text = `${JSON.stringify(line)}\n`;
    this.offsets.push(this.offsets[this.offsets.length - 1] + Buffer.byteLength(text));
    if (!this.stream.write(text)) await once(this.stream, 'drain');
  }

  async close(): Promise<WrittenLines | null> {
    if (!this.stream) return null;
    if (this.failure) throw this.failure;
    this.stream.end();
    await finished(this.stream);
    return { path: this.path, bytes: this.stream.bytesWritten, offsets: this.offsets };
  }

  async discard(): Promise<void> {
    if (this.stream) {
      this.stream.destroy();
      await finished(this.stream).catch(() => undefined);
    }
    await fs.rm(this.path, { force: true });
  }
}

/** A write stream whose errors surface through `once`/`finished` instead of crashing the process. */
export function openJsonlOutput(file: string): WriteStream {
  const out = createWriteStream(file);
  out.on('error', () => undefined);
  return out;
}
