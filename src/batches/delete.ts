/** Deleting a finished batch's data: only inside this client's store, or anybatch's own files in a caller's folder. */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AnybatchBatch } from '../contract/batch';
import { isTerminal } from '../contract/batch';
import { anybatchHome, clientStore } from '../config';
import { UsageError } from '../errors';
import { StorageError, localRootOf } from '../storage';
import type { BlobStore } from '../storage';
import { deleteStaged } from '../storage/batch-data';
import { batchIdProblem } from '../storage/keys';
import { layout, namesFlatInput, resultsDirProblem } from '../storage/layout';
import type { ClientOptions, ProviderName } from '../options';
import { loadBatch, retrieveBatch } from '../batches/read';
import { foreignStore, storeGuess } from './results';


export interface DeletedObject {
  /** A path in a local folder, a URI otherwise. */
  location: string;
  bytes: number;
}

export interface DeleteBatchResult {
  id: string;
  /** What was removed, inputs first (empty when there was nothing left, e.g. deleted before). */
  removed: DeletedObject[];
  /** Their total size. */
  bytes: number;
}

/**
 * Removes a finished batch's data from this client's store: its staged inputs (with split parts and adapter state, of
 * every run of its id: `inputs/<id>/`, and `inputs/<id>.jsonl`, `.ids.jsonl`, `.part-<i>.jsonl`, `.work/<i>/` for a
 * batch staged before run folders, matched exactly) and its results (`results/<id>/`, or in a caller's own results
 * folder only the files anybatch writes there). The batch's record in Temporal stays (until the namespace's
 * retention), and its results can no longer be read; its id can be used again (src/batches/reuse.ts). A batch that is
 * not finished is refused with a `UsageError` (cancel it first). `provider` null: the id alone names the batch. To
 * expire results without deleting batches one by one, give the bucket a lifecycle rule instead.
 */
export async function deleteBatch(provider: ProviderName | null, batchId: string, options: ClientOptions = {}): Promise<DeleteBatchResult> {
  const batch = provider === null ? await loadBatch(batchId, options) : await retrieveBatch(provider, batchId, options);
  if (!isTerminal(batch.status)) {
    throw new UsageError(
      `Batch ${batchId} is ${batch.status}: only a finished batch can be deleted. Cancel it first (anybatch cancel ${batchId} --wait), then delete it.`,
    );
  }
  return deleteBatchData(batch);
}

/**
 * Removes the data of `batch` (which the caller found finished); see `deleteBatch`. Deletes only inside this client's
 * store, by the batch's id (checked: src/storage/keys.ts), never at a path its record names: a record whose input or
 * results are elsewhere (another store, another folder, another batch's folder) is refused before anything is deleted
 * (`StorageError` naming the place), except a caller's own results folder (absolute, outside the store and
 * ANYBATCH_HOME), where only `output.jsonl`, `errors.jsonl`, `recovery.json`, `.parts/` and `.recover/` are removed.
 */
export async function deleteBatchData(batch: AnybatchBatch): Promise<DeleteBatchResult> {
  const id = batch.id;
  const idProblem = batchIdProblem(id);
  if (idProblem) throw new UsageError(`${idProblem}.`);
  const store = clientStore();
  const info = batch.anybatch;
  // Where the record says the data is, checked before anything is deleted.
  if (!inStore(store, info.input_path)) throw foreignStore(id, 'staged input', info.input_path, store, storeGuess(info.input_path, layout.input(id)));
  const results = resultsPlace(store, id, info.results_dir);
  const where = (key: string) => store.localFile(key) ?? store.uri(key);
  // Every run folder of the id; the flat layout's keys only for a batch staged so (see src/storage/layout.ts).
  const staged = await deleteStaged(store, id, { every: true, flat: namesFlatInput(id, info.input_path) });
  const removed: DeletedObject[] = staged.map((e) => ({ location: where(e.key), bytes: e.size }));
  if (results === 'store') {
    removed.push(...(await deletePrefix(store, layout.results(id))));
    await store.removeFolder(layout.results(id));
  } else {
    // The caller's own results folder: only what anybatch writes in it.
    const dir = results;
    for (const name of ['output.jsonl', 'errors.jsonl', 'recovery.json']) removed.push(...(await deleteFile(path.join(dir, name))));
    for (const tree of ['.parts', '.recover']) removed.push(...(await deleteTree(path.join(dir, tree))));
    await fs.promises.rmdir(dir).catch(() => undefined); // only if now empty
  }
  return { id, removed, bytes: removed.reduce((n, r) => n + r.bytes, 0) };
}

/** Whether `location` (a path or a URI, as a batch record names it) is inside this client's store. */
function inStore(store: BlobStore, location: string): boolean {
  if (typeof location !== 'string') return false;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    if (location.startsWith(store.rootUri()) && location.length > store.rootUri().length) return true;
    if (!/^file:/i.test(location)) return false;
    location = fileURLToPath(location);
  }
  const root = localRootOf(store);
  return root !== null && path.resolve(location).startsWith(root + path.sep);
}

/**
 * Where a batch's results are, from the `results_dir` its record names: `store` for its own `results/<id>/` of this
 * client's store, or a caller's own results folder (absolute, outside the store and ANYBATCH_HOME). Anything else
 * (another batch's folder in the store, a relative path, another store) is refused.
 */
function resultsPlace(store: BlobStore, id: string, location: string): 'store' | string {
  const own = layout.results(id);
  if (typeof location === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    if (location.startsWith(store.rootUri())) {
      const key = location.slice(store.rootUri().length);
      if (key === own || key === own.slice(0, -1)) return 'store';
      throw new StorageError('storage_config', `${location} (the results of batch ${id}) is not its own results folder of this client's store (${store.rootUri()}${own}): nothing was deleted.`);
    }
    if (!/^file:/i.test(location)) throw foreignStore(id, 'results', location, store, storeGuess(location, own, own.slice(0, -1)));
    location = fileURLToPath(location);
  }
  const ownFolder = store.localFile(own.slice(0, -1));
  if (ownFolder !== null && typeof location === 'string' && path.resolve(location) === ownFolder) return 'store';
  const storeRoot = localRootOf(store) ?? anybatchHome();
  const problem = resultsDirProblem(location, id, { storeRoot, home: anybatchHome() });
  if (problem) throw new StorageError('storage_config', `The results of batch ${id} cannot be deleted: ${problem}. Nothing was deleted.`);
  return location;
}

async function deletePrefix(store: BlobStore, prefix: string): Promise<DeletedObject[]> {
  const out: DeletedObject[] = [];
  const entries: { key: string; size: number }[] = [];
  for await (const entry of store.list(prefix)) entries.push(entry);
  for (const entry of entries) {
    await store.delete(entry.key);
    out.push({ location: store.localFile(entry.key) ?? store.uri(entry.key), bytes: entry.size });
  }
  return out;
}

async function deleteFile(file: string): Promise<DeletedObject[]> {
  try {
    const st = await fs.promises.stat(file);
    if (!st.isFile()) return [];
    await fs.promises.rm(file, { force: true });
    return [{ location: file, bytes: st.size }];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

async function deleteTree(dir: string): Promise<DeletedObject[]> {
  const out: DeletedObject[] = [];
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return out;
    throw err;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    out.push(...(e.isDirectory() ? await deleteTree(p) : await deleteFile(p)));
  }
  await fs.promises.rm(dir, { recursive: true, force: true });
  return out;
}
