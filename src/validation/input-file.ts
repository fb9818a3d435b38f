import type { ReadStream } from 'node:fs';
import { open } from 'node:fs/promises';

// Per-chunk overhead is small next to parsing; 256 KB measured as fast as 1 MB, with ~30 MB less peak RSS.
const READ_CHUNK_BYTES = 1 << 18;

export type OpenedInput = { stream: ReadStream } | { problem: string };

/** Opens the input for one streaming pass, or says in the user's words why it cannot be read. */
export async function openInput(path: string): Promise<OpenedInput> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    return { problem: describeOpenError(error) };
  }
  try {
    // Checked on the open handle, not the path, so the answer is about the file actually read.
    if ((await handle.stat()).isDirectory()) {
      await handle.close();
      return { problem: 'is a directory, not a file' };
    }
  } catch (error) {
    await handle.close();
    throw error;
  }
  return { stream: handle.createReadStream({ highWaterMark: READ_CHUNK_BYTES }) };
}

function describeOpenError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return 'file not found';
    case 'EISDIR':
      return 'is a directory, not a file';
    case 'EACCES':
    case 'EPERM':
      return 'file cannot be read (permission denied)';
    default:
      return `file cannot be opened (${code ?? String(error)})`;
  }
}
