/**
 * A batch in an S3-compatible store: the worker keeps a scratch cache under its own ANYBATCH_HOME (`cache/<batch>/`,
 * mirroring the keys) for what adapters need as files. Parts are split into objects at the batch's part keys (nothing
 * on the worker's disk for planning). A part's input is never copied to the worker: adapters read it streamed from
 * the store (`PartFiles.read`, a ranged read for a part that is a range of the staged input, its length checked),
 * straight into the provider's upload; the part's work folder is restored from the store
 * before each adapter call, and whatever the adapter wrote is uploaded back while it runs (on each change) and once
 * more when it returns (src/storage/work-sync.ts), so that another worker host, after a crash, finds the id maps,
 * translations and create markers. The scratch is only a cache: deleting it loses nothing; it is deleted once the
 * batch's results are written, and folders of it untouched for a week are swept at worker start.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BlobWriter, objectChunks } from '../results/blob-writer';
import { splitStaged } from '../results/split';
import type { PartSink, SplitLimits } from '../results/split';
import { idsOfInputChunks, idsOfListChunks } from '../results/writer';
import type { BatchSpec, PartPlan } from '../contract/spec';
import type { PartFiles, ResultsTarget, WithPartOptions } from './batch-files';
import { BlobNotFoundError, StorageError } from './errors';
import type { StorageRef } from './layout';
import { StagedBatch } from './staged-batch';
import type { BlobStore, ByteRange } from './types';
import { WorkSync } from './work-sync';

/** Scratch folders (a cache) untouched this long are removed at worker start. */
export const SCRATCH_MAX_AGE_MS = 7 * 24 * 3600_000;

/** The scratch cache of a worker whose data folder is `home`: one folder per batch. */
function scratchCache(home: string): string {
  return path.join(home, 'cache');
}

/** Removes scratch folders of the worker's cache untouched for `maxAgeMs` (best effort: it is only a cache). */
export async function sweepScratch(home: string, maxAgeMs = SCRATCH_MAX_AGE_MS): Promise<void> {
  const root = scratchCache(home);
  let names: string[];
  try {
    names = await fs.promises.readdir(root);
  } catch {
    return;
  }
  const now = Date.now();
  for (const name of names) {
    const dir = path.join(root, name);
    try {
      const st = await fs.promises.stat(dir);
      if (st.isDirectory() && now - st.mtimeMs > maxAgeMs) await fs.promises.rm(dir, { recursive: true, force: true });
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
}

export class RemoteBatchFiles extends StagedBatch {
  /** `home`: this worker's own data folder, for the scratch cache. */
  constructor(
    spec: BatchSpec,
    store: BlobStore,
    private readonly home: string,
    ref: StorageRef | undefined = spec.storage,
  ) {
    super(spec, store, ref);
  }

  /** The scratch cache of this batch on this worker. */
  get scratchRoot(): string {
    return path.join(scratchCache(this.home), this.id);
  }

  private scratchOf(key: string): string {
    return path.join(this.scratchRoot, ...key.replace(/\/$/, '').split('/'));
  }

  protected override placeOf(key: string): string {
    return this.store.uri(key);
  }

  protected override inputChunks(): AsyncIterable<Buffer> {
    return objectChunks(this.store, this.ref.inputKey);
  }

  protected override async split(limits: SplitLimits): Promise<PartPlan[]> {
    const inputKey = this.ref.inputKey;
    const keys = this.keys;
    const store = this.store;
    const info = await store.head(inputKey);
    if (!info) throw new BlobNotFoundError(inputKey, store.uri(inputKey));
    const sink: PartSink = {
      pathOf: (i) => store.uri(keys.part(i)),
      async open(i) {
        const out = new BlobWriter(store, keys.part(i));
        return { write: (bytes) => out.write(bytes), commit: async () => void (await out.close()), discard: () => out.discard() };
      },
    };
    return splitStaged({ size: info.size, read: () => objectChunks(store, inputKey), path: store.uri(inputKey) }, limits, sink);
  }

  override partFiles(part: PartPlan): PartFiles {
    const store = this.store;
    const key = this.partKey(part);
    const range = this.partRange(part);
    const bytes = range === null ? null : range.end - range.start + 1;
    const where = store.uri(key);
    const work = this.keys.work(part.index);
    // Outside `withPart` nothing syncs the folder: persisting there is refused rather than silently skipped.
    const outside = () => Promise.reject(new Error(`part ${part.index}'s work folder is only kept in the store during an adapter call (withPart)`));
    return {
      path: where,
      // Streamed from the store each time it is read (never a copy on this worker's disk).
      read: () => (bytes !== null ? exactly(objectChunks(store, key, range ?? undefined), bytes, where) : wholeObject(store, key, where)),
      // A range goes by its part's own name, as it did when it was copied to the part's key.
      name: path.posix.basename(range !== null ? this.keys.part(part.index) : key),
      workDir: this.scratchOf(work),
      persist: outside,
    };
  }

  /** The scratch manifest of a part's work folder (one per run folder: a later run of the id never reads an earlier one's). */
  private syncManifest(index: number): string {
    const folder = this.keys.folder;
    const run = folder === null ? '' : `${folder.split('/').filter(Boolean).pop()}.`;
    return path.join(this.scratchRoot, '.sync', `${run}${index}.json`);
  }

  override async withPart<T>(part: PartPlan, opts: WithPartOptions, fn: (files: PartFiles) => Promise<T>): Promise<T> {
    const files = this.partFiles(part);
    const store = this.store;
    const key = this.partKey(part);
    await fs.promises.mkdir(this.scratchRoot, { recursive: true });
    const now = new Date();
    await fs.promises.utimes(this.scratchRoot, now, now).catch(() => undefined); // in use: not swept
    if (opts.input && !(await store.head(key))) throw new BlobNotFoundError(key, store.uri(key));
    const sync = new WorkSync(store, this.keys.work(part.index), files.workDir, this.syncManifest(part.index));
    await sync.restore();
    const stop = sync.watch();
    let result: T;
    try {
      result = await fn({ ...files, persist: () => sync.flush() });
    } catch (err) {
      await stop();
      await sync.push().catch(() => undefined); // best effort: the call's own error is the one to report
      throw err;
    }
    await stop();
    await sync.push();
    return result;
  }

  override async partIds(part: PartPlan): Promise<AsyncIterable<string> | null> {
    const first = part.firstRequest ?? (part.requestCount === this.spec.input.requestCount ? 0 : undefined);
    const key = this.partKey(part);
    const range = this.partRange(part);
    const idsKey = this.keys.ids;
    const store = this.store;
    if (await store.head(key)) return idsOfInputChunks(objectChunks(store, key, range ?? undefined));
    if (first !== undefined && (await store.head(idsKey))) return idsOfListChunks(objectChunks(store, idsKey), first, part.requestCount);
    return null;
  }

  protected override resultsUnder(prefix: string): ResultsTarget {
    return { store: this.store, prefix };
  }

  protected override async removeScratch(problems: string[]): Promise<void> {
    await fs.promises.rm(this.scratchRoot, { recursive: true, force: true }).catch((err: Error) => problems.push(`could not remove the scratch ${this.scratchRoot}: ${err.message}`));
  }
}

/** `chunks`, failing at the end if they were not exactly `bytes` bytes (a short read never becomes a short upload). */
async function* exactly(chunks: AsyncIterable<Buffer>, bytes: number, where: string): AsyncGenerator<Buffer> {
  let seen = 0;
  for await (const chunk of chunks) {
    seen += chunk.length;
    if (seen > bytes) throw new StorageError('storage_error', `Read more than the ${bytes} bytes of ${where} (changed meanwhile).`);
    yield chunk;
  }
  if (seen !== bytes) throw new StorageError('storage_error', `Read ${seen} of the ${bytes} bytes of ${where} (cut off, or changed meanwhile).`);
}

/** A whole object, its length checked against the store's size for it. */
async function* wholeObject(store: BlobStore, key: string, where: string): AsyncGenerator<Buffer> {
  const info = await store.head(key);
  if (!info) throw new BlobNotFoundError(key, where);
  yield* exactly(objectChunks(store, key), info.size, where);
}
