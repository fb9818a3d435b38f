/**
 * A batch's data in a store, by exact keys (src/storage/layout.ts): what the worker's clean-up, `createBatch` (when it
 * gives up, and when it checks whether a chosen id is free) and `anybatch delete` list and delete. Never a prefix match:
 * `inputs/nightly.` is also where the keys of `nightly.retry` start.
 */
import fs from 'node:fs';
import path from 'node:path';
import { everyStagedKey, layout, runFolderKeys, runOf } from './layout';
import type { StagedKeys } from './layout';
import { LocalBlobStore } from './local';
import type { BlobStore, ListEntry } from './types';

/**
 * Which staged keys: one run's (`StagedKeys`), or a batch id's: every run folder of it, and with `flat` the flat layout
 * too (only for a batch known to be staged so: see `flatStagedKeys`).
 */
type Which = Pick<StagedKeys, 'owns' | 'listPrefix' | 'folder'> | { every: true; flat: boolean };

function scope(batchId: string, which: Which): { prefixes: string[]; owns(key: string): boolean } {
  if (!('every' in which)) return { prefixes: [which.listPrefix], owns: which.owns };
  return which.flat ? everyStagedKey(batchId) : runFolderKeys(batchId);
}

/** The staged objects of a batch (exactly its own keys), in key order per prefix. */
export async function stagedEntries(store: BlobStore, batchId: string, which: Which): Promise<ListEntry[]> {
  const { prefixes, owns } = scope(batchId, which);
  const out: ListEntry[] = [];
  for (const prefix of prefixes) for await (const entry of store.list(prefix)) if (owns(entry.key)) out.push(entry);
  return out;
}

/**
 * Deletes a batch's staged objects (exactly its own keys) and returns them. In a local folder, the folders they leave
 * go too: a run folder whole (`inputs/<batch>/` is the batch's alone), the flat layout's work folders only once empty
 * (`inputs/<batch>.work/` is also the folder of a batch named `<batch>.work`).
 */
export async function deleteStaged(store: BlobStore, batchId: string, which: Which): Promise<ListEntry[]> {
  const entries = await stagedEntries(store, batchId, which);
  for (const entry of entries) await store.delete(entry.key);
  if (store instanceof LocalBlobStore) await removeFolders(store, batchId, which, entries);
  return entries;
}

async function removeFolders(store: LocalBlobStore, batchId: string, which: Which, deleted: ListEntry[]): Promise<void> {
  const inputs = store.pathOf('inputs');
  // Run folders are the batch's alone: removed whole (temp files included). Only they: `inputs/<batch>/` itself can
  // hold another batch's flat work folders (`inputs/a.work/0/` of batch `a`, next to batch `a.work`'s run folders).
  const runs = new Set<string>();
  if (!('every' in which) && which.folder) runs.add(which.folder.replace(/\/$/, ''));
  for (const { key } of deleted) {
    const run = runOf(batchId, key);
    if (run !== null) runs.add(`inputs/${batchId}/${run}`);
  }
  for (const run of runs) {
    const folder = store.pathOf(run);
    const st = await fs.promises.lstat(folder).catch(() => null);
    if (st?.isDirectory()) await fs.promises.rm(folder, { recursive: true, force: true });
  }
  if (runs.size > 0) await fs.promises.rmdir(store.pathOf(`inputs/${batchId}`)).catch(() => undefined); // once no run (nor anything else) is left
  const dirs = new Set<string>();
  for (const { key } of deleted) {
    for (let dir = path.dirname(store.pathOf(key)); dir.startsWith(inputs + path.sep); dir = path.dirname(dir)) dirs.add(dir);
  }
  for (const dir of [...dirs].sort((a, b) => b.length - a.length)) await fs.promises.rmdir(dir).catch(() => undefined);
}

/**
 * The first object of a batch id's data in the store (staged in any run folder, or with `flat` in the flat layout; or
 * results), or null when none is left.
 */
export async function anyDataOf(store: BlobStore, batchId: string, flat: boolean): Promise<string | null> {
  const { prefixes, owns } = scope(batchId, { every: true, flat });
  for (const prefix of prefixes) for await (const entry of store.list(prefix)) if (owns(entry.key)) return entry.key;
  for await (const entry of store.list(layout.results(batchId))) return entry.key;
  return null;
}
