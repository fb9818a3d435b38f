/**
 * The worker's store, and the one place that chooses, once per batch, how a batch's files are read and written
 * (src/storage/batch-files.ts: `LocalBatchFiles`, `RemoteBatchFiles` or `LegacyBatchFiles`).
 *
 * The worker reads and writes only inside its store. Before anything is read, `forBatch` checks what the spec names
 * (a workflow can be started on the task queue with any input) and refuses, with a permanent `storage_refused` naming
 * the batch and the key or path, a batch id that is not a safe key segment (src/storage/keys.ts), an input key that is
 * not the batch's own (src/storage/layout.ts: its run folder, or the flat layout), results under another prefix than
 * the batch's own, a results folder of the caller's (`resultsDir`, local store only) that is relative or inside the
 * store or ANYBATCH_HOME, and a spec without a store whose input is not this worker's ANYBATCH_HOME layout. Parts and
 * result files named by the workflow are mapped to the batch's own keys (by part index) or refused.
 *
 * The store is the worker's own (ANYBATCH_STORAGE, or ANYBATCH_HOME by default), opened once per process; a
 * batch staged in another store fails at once with a permanent `storage_mismatch` error naming both.
 *
 * Lifecycle: once a batch's results are written, its staged inputs (exactly its own keys, `StagedKeys.owns`: input,
 * request ids, parts, work folders) are deleted, unless ANYBATCH_KEEP_INPUTS=1 (worker env). Results stay until
 * deleted (`anybatch delete`).
 */
import path from 'node:path';
import { anybatchHome } from '../config';
import type { BatchSpec } from '../contract/spec';
import { StorageMismatchError, StorageRefusedError } from './batch-files';
import type { BatchFiles } from './batch-files';
import { StorageError } from './errors';
import { checkStore, openStore, storageConfigFromEnv } from './index';
import type { StorageConfig } from './index';
import { batchIdProblem } from './keys';
import { layout, resultsDirProblem, stagedKeys } from './layout';
import type { StorageRef } from './layout';
import { LegacyBatchFiles } from './legacy-files';
import { LocalBlobStore } from './local';
import { LocalBatchFiles } from './local-files';
import { RemoteBatchFiles, SCRATCH_MAX_AGE_MS, sweepScratch as sweepScratchOf } from './remote-files';
import type { BlobStore } from './types';

export { SCRATCH_MAX_AGE_MS };

/** One store per configuration and process (an S3 client keeps its connections). */
const opened = new Map<string, BlobStore>();

function storeFor(config: StorageConfig): BlobStore {
  const id = JSON.stringify(config);
  let store = opened.get(id);
  if (!store) {
    store = openStore(config);
    opened.set(id, store);
  }
  return store;
}

/** The worker's store, from the environment (ANYBATCH_STORAGE, else ANYBATCH_HOME). */
export function workerStore(env: NodeJS.ProcessEnv = process.env): BlobStore {
  return storeFor(storageConfigFromEnv(env));
}

/**
 * Worker start: the store must be usable (S3: endpoint reachable, bucket there, credentials accepted, a probe
 * object written, read back and deleted; a local folder: there, or creatable, and writable, with no probe object
 * so that its layout stays as it was), or the worker does not start. Fails within `timeoutMs` (default 10 s).
 */
export async function checkWorkerStore(opts: { store?: BlobStore; timeoutMs?: number } = {}): Promise<BlobStore> {
  let store: BlobStore | undefined;
  try {
    store = opts.store ?? workerStore();
    await checkStore(store, { timeoutMs: opts.timeoutMs ?? 10_000, probe: store.kind !== 'local' });
    return store;
  } catch (err) {
    const code = err instanceof StorageError ? err.code : 'storage_error';
    const what = store ? `its ${store.describe()}` : 'its blob store';
    throw new StorageError(code, `The worker cannot use ${what}: ${(err as Error).message}`, { cause: err });
  }
}

/** Removes scratch folders of the worker's cache (batches in a remote store) untouched for `maxAgeMs` (best effort: it is only a cache). */
export async function sweepScratch(home: string = anybatchHome(), maxAgeMs = SCRATCH_MAX_AGE_MS): Promise<void> {
  return sweepScratchOf(home, maxAgeMs);
}

export interface WorkerFilesOptions {
  /** The worker's store (default: from the environment when the files are made, opened once per process). */
  store?: BlobStore;
  /** The worker's own data folder, for the scratch cache (default ANYBATCH_HOME). */
  home?: string;
}

/** The worker's files: one per worker (`createActivities`), one `BatchFiles` per batch and activity call. */
export class WorkerFiles {
  private readonly config: StorageConfig | null;
  private readonly configError: unknown = null;
  private readonly given: BlobStore | undefined;
  readonly home: string;

  constructor(opts: WorkerFilesOptions = {}) {
    this.given = opts.store;
    this.home = path.resolve(opts.home ?? anybatchHome());
    let config: StorageConfig | null = null;
    if (!opts.store) {
      try {
        config = storageConfigFromEnv();
      } catch (err) {
        // Reported when a batch with a store needs it (worker start checks the store before that).
        this.configError = err;
      }
    }
    this.config = config;
  }

  get store(): BlobStore {
    if (this.given) return this.given;
    if (this.configError) throw this.configError;
    return storeFor(this.config!);
  }

  /**
   * The files of one batch, once what its spec names is checked (see the header), in the one strategy that fits it: a
   * batch staged in another store than this worker's throws `StorageMismatchError`, one naming what is not its own
   * `StorageRefusedError`.
   */
  forBatch(spec: BatchSpec): BatchFiles {
    const id = spec?.batchId;
    const idProblem = batchIdProblem(id);
    if (idProblem) throw new StorageRefusedError(JSON.stringify(id) ?? String(id), idProblem);
    if (!spec.storage) return this.beforeTheStore(spec);
    const store = this.store;
    if (store.rootUri() !== spec.storage.uri) throw new StorageMismatchError(id, spec.storage.uri, store.rootUri());
    const ref = spec.storage;
    if (typeof ref.inputKey !== 'string' || stagedKeys(id, ref.inputKey) === null) {
      throw new StorageRefusedError(id, `its input key ${JSON.stringify(ref.inputKey)} is not its own (inputs/${id}/<run>/input.jsonl, or inputs/${id}.jsonl for a batch staged before run folders)`);
    }
    if (ref.resultsPrefix !== null && ref.resultsPrefix !== layout.results(id)) {
      throw new StorageRefusedError(id, `its results prefix ${JSON.stringify(ref.resultsPrefix)} is not its own (${layout.results(id)})`);
    }
    if (ref.resultsPrefix === null) {
      if (!(store instanceof LocalBlobStore)) throw new StorageRefusedError(id, `it names a results folder of its own (${spec.resultsDir}), which only a local folder store allows`);
      const problem = resultsDirProblem(spec.resultsDir, id, { storeRoot: store.root, home: this.home });
      if (problem) throw new StorageRefusedError(id, problem);
    }
    // A local folder store's keys are files, used in place; any other store's are objects, with a scratch work folder here.
    return store instanceof LocalBlobStore ? new LocalBatchFiles(spec, store, ref) : new RemoteBatchFiles(spec, store, this.home, ref);
  }

  /**
   * A batch staged before the blob store: only in the flat layout of this worker's ANYBATCH_HOME (as every such
   * batch was), read and written as a batch of the local folder store there.
   */
  private beforeTheStore(spec: BatchSpec): BatchFiles {
    const id = spec.batchId;
    const home = new LocalBlobStore(this.home);
    const expected = home.pathOf(layout.input(id));
    const named = spec.input?.path;
    if (typeof named !== 'string' || path.resolve(named) !== expected) {
      throw new StorageRefusedError(id, `it has no store and names the input ${JSON.stringify(named)}: a batch staged before the blob store is read only at this worker's ANYBATCH_HOME (${expected})`);
    }
    const own = spec.resultsDir === path.join(this.home, 'results', id);
    if (!own) {
      const problem = resultsDirProblem(spec.resultsDir, id, { storeRoot: this.home, home: this.home });
      if (problem) throw new StorageRefusedError(id, problem);
    }
    const ref: StorageRef = { uri: home.rootUri(), inputKey: layout.input(id), resultsPrefix: own ? layout.results(id) : null };
    return new LegacyBatchFiles(spec, home, ref);
  }
}
