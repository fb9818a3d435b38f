/**
 * The one module the worker reads and writes a batch's staged data through: its input, its parts, each part's
 * adapter state (the work folder: translations, id maps, create markers), its results, and the clean-up once
 * the results are written. Everything else in the worker (activities, adapters) sees local paths.
 *
 * - A batch in a local folder store: the store's keys are today's ANYBATCH_HOME paths (`LocalBlobStore.pathOf`),
 *   used directly: no copies, the same files and the same speed as before.
 * - A batch in an S3-compatible store: the worker keeps a scratch cache under its own ANYBATCH_HOME
 *   (`cache/<batch>/`, mirroring the keys) for what adapters need as files. A part's input is downloaded before
 *   its upload (streamed to a temp file, its size checked against the object's, then renamed into place); the
 *   part's work folder is restored from the store before each adapter call, and whatever the adapter wrote is
 *   uploaded back while it runs (on each change) and once more when it returns, so that another worker host,
 *   after a crash, finds the id maps, translations and create markers. The scratch is only a cache: deleting
 *   it loses nothing; it is deleted once the batch's results are written.
 * - A batch staged before the blob store (its spec has no `storage`): read and written as a batch of the local
 *   folder store at this worker's own ANYBATCH_HOME, in the flat layout it was staged in; only there.
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
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import type { BatchResultFiles } from '../contract/batch';
import { anybatchHome } from '../config';
import { AnybatchError } from '../errors';
import { BlobWriter, objectChunks } from '../results/blob-writer';
import { readFileChunks } from '../results/jsonl';
import { splitInput, splitStaged } from '../results/split';
import type { PartSink, SplitLimits } from '../results/split';
import { idsOfInput, idsOfInputChunks, idsOfList, idsOfListChunks } from '../results/writer';
import type { StoreResults } from '../results/writer';
import { BlobNotFoundError, LocalBlobStore, StorageError, checkStore, openStore, storageConfigFromEnv } from '../storage';
import type { BlobStore, StorageConfig } from '../storage';
import { deleteStaged } from '../storage/batch-data';
import { batchIdProblem } from '../storage/keys';
import { layout, resultsDirProblem, stagedKeys } from '../storage/layout';
import type { StagedKeys, StorageRef } from '../storage/layout';
import { LineEstimator, estimateParts } from '../tokens';
import type { BatchSpec, PartPlan } from '../contract/spec';

/** Worker env: keep a batch's staged inputs after its results are written (`1`/`true`). */
export const KEEP_INPUTS_VAR = 'ANYBATCH_KEEP_INPUTS';
/** Scratch folders (a cache) untouched this long are removed at worker start. */
export const SCRATCH_MAX_AGE_MS = 7 * 24 * 3600_000;
/** Temp names in the scratch cache (never uploaded, never taken for a file of the work folder). */
const SCRATCH_TEMP = '.anybatch-tmp-';

/** A batch staged in another store than this worker's: permanent (the worker cannot see the batch's data). */
export class StorageMismatchError extends AnybatchError {
  constructor(batchId: string, staged: string, mine: string) {
    super(
      'storage_mismatch',
      `batch ${batchId} was staged in ${staged} but this worker's store is ${mine}: set ANYBATCH_STORAGE the same on clients and workers` +
        (staged.startsWith('file:') && mine.startsWith('file:') ? ' (or, for the local folder, ANYBATCH_HOME)' : ''),
    );
  }
}

/**
 * A batch whose spec names what is not its own (a key, a path, an id that is not a safe key segment): permanent. The
 * worker reads and writes only inside its store, and only the batch's own keys there.
 */
export class StorageRefusedError extends AnybatchError {
  constructor(batchId: string, why: string) {
    super('storage_refused', `batch ${batchId} is refused by this worker: ${why}.`);
  }
}

/** A part index as the workflow gives it: a non-negative integer, or the batch is refused (it names a key and a file). */
export function checkPartIndex(batchId: string, index: unknown): number {
  if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0) {
    throw new StorageRefusedError(batchId, `part index ${JSON.stringify(index) ?? String(index)} is not a non-negative integer`);
  }
  return index;
}

export function keepInputs(env: NodeJS.ProcessEnv = process.env): boolean {
  return ['1', 'true', 'yes', 'on'].includes((env[KEEP_INPUTS_VAR] ?? '').trim().toLowerCase());
}

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

/** Removes scratch folders of the worker's cache untouched for `maxAgeMs` (best effort: it is only a cache). */
export async function sweepScratch(home: string = anybatchHome(), maxAgeMs = SCRATCH_MAX_AGE_MS): Promise<void> {
  const root = path.join(home, 'cache');
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

export interface StagingOptions {
  /** The worker's store (default: from the environment when the staging is made, opened once per process). */
  store?: BlobStore;
  /** The worker's own data folder, for the scratch cache (default ANYBATCH_HOME). */
  home?: string;
}

/** What an adapter gets for a part: local paths. */
export interface PartFiles {
  /** The part's input file (for a batch in S3: the scratch copy, present when asked for with `input`). */
  path: string;
  /** The part's work folder. */
  workDir: string;
  /**
   * Makes what is in the work folder durable in the batch's store now, and fails if it cannot (a batch in S3:
   * uploads the folder's changes; elsewhere the folder is the store and there is nothing to do). For a create
   * marker that must be where another host finds it before the request it guards is sent.
   */
  persist(): Promise<void>;
}

export interface WithPartOptions {
  /** The adapter reads the part's input: make it a local file first (and fail clearly when it is gone). */
  input?: boolean;
  /** Drop the scratch copy of the input once `fn` succeeded (it is in the store; the upload no longer needs it). */
  releaseInput?: boolean;
}

/** Where a batch's results are written: a local folder, or under a prefix of the store. */
export type ResultsTarget = string | StoreResults;

/** The worker's staging: one per worker (`createActivities`), one `BatchStaging` per activity call. */
export class WorkerStaging {
  private readonly config: StorageConfig | null;
  private readonly configError: unknown = null;
  private readonly given: BlobStore | undefined;
  readonly home: string;

  constructor(opts: StagingOptions = {}) {
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
   * The staging of one batch, once what its spec names is checked (see the header): a batch staged in another store
   * than this worker's throws `StorageMismatchError`, one naming what is not its own `StorageRefusedError`.
   */
  forBatch(spec: BatchSpec): BatchStaging {
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
    return new BatchStaging(spec, store, this.home);
  }

  /**
   * A batch staged before the blob store: only in the flat layout of this worker's ANYBATCH_HOME (as every such
   * batch was), read and written as a batch of the local folder store there.
   */
  private beforeTheStore(spec: BatchSpec): BatchStaging {
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
    return new BatchStaging(spec, home, this.home, { ref, beforeTheStore: true });
  }
}

type Mode = 'legacy' | 'local' | 'remote';

interface SyncedFile {
  size: number;
  mtimeMs: number;
  ino: number;
  /** The object's version as last synced (ETag, or size and time). */
  version: string;
}
type Manifest = Record<string, SyncedFile>;

async function statOrNull(file: string): Promise<fs.Stats | null> {
  try {
    return await fs.promises.stat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw err;
  }
}

function sameFile(st: fs.Stats, m: SyncedFile | undefined): boolean {
  return m !== undefined && st.size === m.size && st.mtimeMs === m.mtimeMs && st.ino === m.ino;
}

function versionOf(info: { etag?: string; size: number; modifiedAt?: Date }): string {
  return info.etag ?? `${info.size}@${info.modifiedAt?.getTime() ?? 0}`;
}

/** Fails with the file's own error (ENOENT, EISDIR, EACCES, ...) before a read of it is streamed somewhere. */
export async function checkReadable(file: string): Promise<void> {
  const handle = await fs.promises.open(file, 'r');
  try {
    await handle.read(Buffer.alloc(1), 0, 1, 0);
  } finally {
    await handle.close();
  }
}

function readableFile(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.R_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Files under `dir` (relative `/`-separated names), skipping temp names. */
async function walkFiles(dir: string, rel = ''): Promise<string[]> {
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(path.join(dir, ...rel.split('/').filter(Boolean)), { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (e.name.startsWith(SCRATCH_TEMP) || e.name.endsWith('.tmp')) continue;
    const name = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await walkFiles(dir, name)));
    else if (e.isFile()) out.push(name);
  }
  return out;
}

/** One batch's staged data, as the worker sees it (its spec checked by `WorkerStaging.forBatch`). */
export class BatchStaging {
  readonly mode: Mode;
  private readonly ref: StorageRef;
  /** The batch's staged keys, in the layout its spec names (its run folder, or the flat layout). */
  readonly keys: StagedKeys;
  /** A batch staged before the blob store (its spec has no `storage`). */
  private readonly beforeTheStore: boolean;

  constructor(
    readonly spec: BatchSpec,
    readonly store: BlobStore,
    private readonly home: string,
    opts: { ref?: StorageRef; beforeTheStore?: boolean } = {},
  ) {
    const ref = opts.ref ?? spec.storage;
    if (!ref) throw new StorageRefusedError(spec.batchId, 'it has no store');
    this.ref = ref;
    const keys = stagedKeys(spec.batchId, ref.inputKey);
    if (!keys) throw new StorageRefusedError(spec.batchId, `its input key ${JSON.stringify(ref.inputKey)} is not its own`);
    this.keys = keys;
    this.beforeTheStore = opts.beforeTheStore ?? false;
    const local = store.kind === 'local' && typeof (store as LocalBlobStore).pathOf === 'function';
    this.mode = this.beforeTheStore ? 'legacy' : local ? 'local' : 'remote';
  }

  private get id(): string {
    return this.spec.batchId;
  }

  /** The store is a local folder: its keys are files, used in place. */
  private get inPlace(): boolean {
    return this.mode !== 'remote';
  }

  private local(key: string): string {
    return (this.store as LocalBlobStore).pathOf(key.replace(/\/$/, ''));
  }

  /** The scratch cache of this batch on this worker (S3 only). */
  get scratchRoot(): string {
    return path.join(this.home, 'cache', this.id);
  }

  private scratchOf(key: string): string {
    return path.join(this.scratchRoot, ...key.replace(/\/$/, '').split('/'));
  }

  /** How plans and messages name a key: the file for a local store, the URI otherwise. */
  private display(key: string): string {
    return this.inPlace ? this.local(key) : this.store.uri(key);
  }

  /** The staged input, for messages. */
  get inputPlace(): string {
    return this.display(this.ref.inputKey);
  }

  // ---- planning -------------------------------------------------------------------------------------------

  /**
   * Splits the staged input into parts (written beside it, or as objects at the batch's part keys), each with its
   * token estimate unless `estimateTokens` is false (src/tokens: one more streaming pass over the input); idempotent.
   */
  async plan(limits: SplitLimits, estimateTokens = true): Promise<PartPlan[]> {
    const parts = await this.split(limits);
    if (!estimateTokens) return parts;
    return estimateParts(this.inputChunks(), parts, new LineEstimator(this.spec.provider, this.spec.endpoint));
  }

  /** The staged input's bytes, read afresh. */
  private inputChunks(): AsyncIterable<Buffer> {
    const inputKey = this.ref.inputKey;
    return this.inPlace ? readFileChunks(this.local(inputKey)) : objectChunks(this.store, inputKey);
  }

  private async split(limits: SplitLimits): Promise<PartPlan[]> {
    const inputKey = this.ref.inputKey;
    const keys = this.keys;
    if (this.inPlace) {
      const file = this.local(inputKey);
      await checkReadable(file);
      return splitInput(file, limits, { partPath: (i) => this.local(keys.part(i)) });
    }
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

  /**
   * The key of a part's input: the staged input itself (a single part) or the batch's part key. A part naming
   * anything else (another batch's key, a file outside the store) is refused.
   */
  partKey(part: PartPlan): string {
    const index = checkPartIndex(this.id, part?.index);
    const candidates = [this.ref.inputKey, this.keys.part(index)];
    for (const key of candidates) {
      if (part.path === key || part.path === this.display(key) || part.path === this.store.uri(key)) return key;
    }
    // The whole input as one part (a batch whose planning failed carries the spec's input).
    if (part.path === this.spec.input.path) return this.ref.inputKey;
    throw new StorageRefusedError(this.id, `its part ${index} names ${JSON.stringify(part.path)}, which is not one of the batch's staged objects in ${this.store.rootUri()}`);
  }

  /** The local paths an adapter is given for a part (the input file may not be there: see `withPart`). */
  partFiles(part: PartPlan): PartFiles {
    const key = this.partKey(part);
    const work = this.keys.work(part.index);
    if (this.inPlace) return { path: this.local(key), workDir: this.local(work), persist: nothingToPersist };
    // Outside `withPart` nothing syncs the folder: persisting there is refused rather than silently skipped.
    const outside = () => Promise.reject(new Error(`part ${part.index}'s work folder is only kept in the store during an adapter call (withPart)`));
    return { path: this.scratchOf(key), workDir: this.scratchOf(work), persist: outside };
  }

  /** The scratch manifest of a part's work folder (one per run folder: a later run of the id never reads an earlier one's). */
  private syncManifest(index: number): string {
    const folder = this.keys.folder;
    const run = folder === null ? '' : `${folder.split('/').filter(Boolean).pop()}.`;
    return path.join(this.scratchRoot, '.sync', `${run}${index}.json`);
  }

  // ---- adapter calls ----------------------------------------------------------------------------------------

  /**
   * Runs an adapter call on a part's local files. For a batch in S3: the input is downloaded first (with
   * `input`), the work folder restored from the store before and synced back to it during and after the call
   * (also when the call fails: an adapter's marker written before a failed request matters most).
   */
  async withPart<T>(part: PartPlan, opts: WithPartOptions, fn: (files: PartFiles) => Promise<T>): Promise<T> {
    const files = this.partFiles(part);
    if (this.inPlace) {
      if (opts.input) await checkReadable(files.path);
      return fn(files);
    }
    const store = this.store;
    const key = this.partKey(part);
    await fs.promises.mkdir(this.scratchRoot, { recursive: true });
    const now = new Date();
    await fs.promises.utimes(this.scratchRoot, now, now).catch(() => undefined); // in use: not swept
    if (opts.input) await this.fetch(key, files.path);
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
    if (opts.releaseInput) await fs.promises.rm(files.path, { force: true });
    return result;
  }

  /** Downloads `key` to `file` unless a complete copy is there (streamed, size checked, temp + rename). */
  private async fetch(key: string, file: string): Promise<void> {
    const store = this.store;
    const info = await store.head(key);
    if (!info) throw new BlobNotFoundError(key, store.uri(key));
    const st = await statOrNull(file);
    if (st?.isFile() && st.size === info.size) return;
    await download(store, key, file, info.size);
  }

  // ---- results ----------------------------------------------------------------------------------------------

  /** The custom_ids of a part: from its input, else from the ids recorded at validation; null when neither is there. */
  async partIds(part: PartPlan): Promise<AsyncIterable<string> | null> {
    const first = part.firstRequest ?? (part.requestCount === this.spec.input.requestCount ? 0 : undefined);
    const key = this.partKey(part);
    const idsKey = this.keys.ids;
    if (this.inPlace) {
      if (readableFile(this.local(key))) return idsOfInput(this.local(key));
      if (first !== undefined && readableFile(this.local(idsKey))) return idsOfList(this.local(idsKey), first, part.requestCount);
      return null;
    }
    const store = this.store;
    if (await store.head(key)) return idsOfInputChunks(objectChunks(store, key));
    if (first !== undefined && (await store.head(idsKey))) return idsOfListChunks(objectChunks(store, idsKey), first, part.requestCount);
    return null;
  }

  /** The request ids recorded at validation, for messages. */
  get idsPlace(): string {
    return this.display(this.keys.ids);
  }

  /** Where results are written: the store's folder or keys, or a caller's own folder (`resultsDir`, checked by `forBatch`). */
  get results(): ResultsTarget {
    const prefix = this.ref.resultsPrefix;
    if (!prefix) return this.spec.resultsDir;
    if (this.inPlace) return this.local(prefix);
    return { store: this.store, prefix };
  }

  /** The results folder or prefix, for messages. */
  get resultsPlace(): string {
    const target = this.results;
    return typeof target === 'string' ? target : target.store.uri(target.prefix.replace(/\/$/, ''));
  }

  /** The merged files as a batch reports them: with their URIs, for a batch with a store. */
  withUris(files: BatchResultFiles): BatchResultFiles {
    if (this.beforeTheStore || (files.output_uri && files.errors_uri)) return files;
    return { ...files, output_uri: pathToFileURL(files.output_path).href, errors_uri: pathToFileURL(files.errors_path).href };
  }

  // ---- lifecycle ----------------------------------------------------------------------------------------------

  /**
   * Once the merged results exist: deletes the staged inputs (exactly the batch's own keys; unless
   * ANYBATCH_KEEP_INPUTS, or `keepInputs` while a given-up part may still be recovered from them) and this worker's
   * scratch. A batch staged before the blob store keeps its inputs, as it always did. Idempotent; best effort (the
   * results are written: a failure is returned for a warning, not thrown).
   */
  async cleanUp(env: NodeJS.ProcessEnv = process.env, opts: { keepInputs?: boolean } = {}): Promise<string[]> {
    const problems: string[] = [];
    if (this.beforeTheStore) return problems;
    const store = this.store;
    if (!keepInputs(env) && !opts.keepInputs) {
      try {
        await deleteStaged(store, this.id, this.keys);
      } catch (err) {
        problems.push(`could not delete the staged inputs of batch ${this.id} under ${store.uri(this.keys.listPrefix.replace(/\/$/, ''))}: ${(err as Error).message}`);
      }
    }
    if (this.mode === 'remote') {
      await fs.promises.rm(this.scratchRoot, { recursive: true, force: true }).catch((err: Error) => problems.push(`could not remove the scratch ${this.scratchRoot}: ${err.message}`));
    }
    return problems;
  }
}

const nothingToPersist = async (): Promise<void> => undefined;

/** Streams an object to a local file: a temp file beside it, its size checked, then renamed into place. */
async function download(store: BlobStore, key: string, file: string, expected: number): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `${SCRATCH_TEMP}${crypto.randomBytes(6).toString('hex')}`);
  try {
    await pipeline(await store.get(key), fs.createWriteStream(tmp, { highWaterMark: 1 << 20 }));
    const { size } = await fs.promises.stat(tmp);
    if (size !== expected) {
      throw new StorageError('storage_error', `Read ${size} of the ${expected} bytes of ${store.uri(key)} (cut off, or changed meanwhile).`);
    }
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/**
 * Keeps a part's local work folder and its copy in the store (`layout.work`) in step. A manifest beside the scratch
 * records each file as last synced (size, mtime, inode, and the object's version), so that: a file the store has
 * in another version than we last saw (another host wrote it) is downloaded; a local file changed since its last
 * sync (ours, newer) is kept and uploaded; an unchanged one is left alone.
 */
class WorkSync {
  private manifest: Manifest | null = null;

  constructor(
    private readonly store: BlobStore,
    private readonly prefix: string,
    private readonly dir: string,
    private readonly manifestFile: string,
  ) {}

  private async load(): Promise<Manifest> {
    if (this.manifest) return this.manifest;
    try {
      this.manifest = JSON.parse(await fs.promises.readFile(this.manifestFile, 'utf8')) as Manifest;
    } catch {
      this.manifest = {};
    }
    return this.manifest;
  }

  private async save(): Promise<void> {
    await fs.promises.mkdir(path.dirname(this.manifestFile), { recursive: true });
    const tmp = `${this.manifestFile}.${crypto.randomBytes(4).toString('hex')}.tmp`;
    await fs.promises.writeFile(tmp, JSON.stringify(this.manifest ?? {}));
    await fs.promises.rename(tmp, this.manifestFile);
  }

  private fileOf(rel: string): string {
    return path.join(this.dir, ...rel.split('/'));
  }

  /** Brings the store's files of the work folder here (those changed by another host, or missing here). */
  async restore(): Promise<void> {
    const manifest = await this.load();
    const keys: string[] = [];
    for await (const entry of this.store.list(this.prefix)) keys.push(entry.key);
    let changed = false;
    for (const key of keys) {
      const rel = key.slice(this.prefix.length);
      if (!rel || rel.endsWith('.tmp')) continue;
      const file = this.fileOf(rel);
      const st = await statOrNull(file);
      const synced = manifest[rel];
      if (st && !sameFile(st, synced)) continue; // changed here since its last sync: ours is newer (uploaded after the call)
      const info = await this.store.head(key);
      if (!info) continue;
      if (st && synced && synced.version === versionOf(info)) continue; // the same on both sides
      await download(this.store, key, file, info.size);
      const now = await fs.promises.stat(file);
      manifest[rel] = { size: now.size, mtimeMs: now.mtimeMs, ino: now.ino, version: versionOf(info) };
      changed = true;
    }
    await fs.promises.mkdir(this.dir, { recursive: true });
    if (changed) await this.save();
  }

  /** Uploads the files of the work folder that are new or changed since their last sync. */
  async push(): Promise<void> {
    const manifest = await this.load();
    let changed = false;
    for (const rel of await walkFiles(this.dir)) {
      const file = this.fileOf(rel);
      const st = await statOrNull(file);
      if (!st || sameFile(st, manifest[rel])) continue;
      const key = this.prefix + rel;
      const put = await this.store.put(key, fs.createReadStream(file, { highWaterMark: 1 << 20 }));
      const version = put.etag ?? versionOf((await this.store.head(key)) ?? { size: put.size });
      // Recorded as it was before the upload: a change made meanwhile is seen (and uploaded) by the next push.
      manifest[rel] = { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, version };
      changed = true;
    }
    if (changed) await this.save();
  }

  private chain: Promise<void> = Promise.resolve();
  private queued = false;

  /** Pushes now, after any push under way, and reports a failure (unlike the pushes of `watch`). */
  async flush(): Promise<void> {
    const run = this.chain.then(() => this.push());
    this.chain = run.catch(() => undefined);
    await run;
  }

  /** Pushes each change of the folder soon after it happens (serialized), until the returned stop is awaited. */
  watch(): () => Promise<void> {
    let watcher: fs.FSWatcher | null = null;
    const schedule = () => {
      if (this.queued) return;
      this.queued = true;
      this.chain = this.chain
        .then(() => new Promise((r) => setTimeout(r, 10)))
        .then(() => {
          this.queued = false;
          return this.push();
        })
        .catch(() => undefined); // the push after the call reports what still fails
    };
    try {
      watcher = fs.watch(this.dir, { persistent: false }, (_event, name) => {
        if (name && (String(name).startsWith(SCRATCH_TEMP) || String(name).endsWith('.tmp'))) return;
        schedule();
      });
      watcher.on('error', () => undefined);
    } catch {
      watcher = null; // a file system without change events: the push after the call still syncs
    }
    return async () => {
      watcher?.close();
      await this.chain;
    };
  }
}
