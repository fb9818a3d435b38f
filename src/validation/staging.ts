import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { finished } from 'node:stream/promises';

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
