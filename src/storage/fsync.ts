/**
 * fsync of local files and folders, for what must survive a power loss once written (merged results before the
 * staged inputs are deleted, split parts, what adapters keep in a part's work folder). A file is synced before it is
 * renamed into place, its folder after, so that after a crash the name holds the whole file or is absent.
 */
import fs from 'node:fs';
import path from 'node:path';

/** fsyncs the file's content. */
export async function syncFile(file: string): Promise<void> {
  const handle = await fs.promises.open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsyncs a folder (its entries: a rename or a new file in it). Platforms that cannot open a folder (Windows) skip it. */
export async function syncDir(dir: string): Promise<void> {
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(dir, 'r');
    await handle.sync();
  } catch (err) {
    if (!['EISDIR', 'EINVAL', 'EPERM', 'ENOTSUP', 'EBADF'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** Renames `tmp` (synced first) to `file` and syncs the folder: `file` is whole or absent after a crash. */
export async function renameDurably(tmp: string, file: string): Promise<void> {
  await syncFile(tmp);
  await fs.promises.rename(tmp, file);
  await syncDir(path.dirname(file));
}

/** Writes `data` to `file` atomically and durably (temp file, fsync, rename, fsync of the folder). */
export async function writeFileDurably(file: string, data: string | Buffer): Promise<void> {
  const tmp = `${file}.tmp`;
  await fs.promises.writeFile(tmp, data);
  await renameDurably(tmp, file);
}
