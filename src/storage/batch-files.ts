/**
 * A batch's files as the worker sees them: the one interface the activities (and through them the provider adapters)
 * read and write a batch's staged data through: its input, its parts, each part's adapter state (the work folder:
 * translations, id maps, create markers), its results, and the clean-up once the results are written. Everything else
 * in the worker sees local paths (a part's input file and work folder, for an adapter call) or the store's own keys.
 *
 * One implementation per storage strategy, chosen once per batch by `WorkerFiles.forBatch` (src/storage/worker-files.ts)
 * from the batch's spec and the worker's store, after what the spec names is checked:
 * - `LocalBatchFiles` (local-files.ts): a batch in a local folder store, whose keys are files used in place;
 * - `RemoteBatchFiles` (remote-files.ts): a batch in an S3-compatible store, with a scratch work folder on this worker
 *   kept in step with the store (work-sync.ts);
 * - `LegacyBatchFiles` (legacy-files.ts): a batch staged before the blob store, in the flat layout of this worker's
 *   ANYBATCH_HOME.
 * Callers never ask which: what differs is behind the methods below.
 */
import type { BatchResultFiles } from '../contract/batch';
import type { BatchSpec, PartPlan } from '../contract/spec';
import { AnybatchError } from '../errors';
import type { SplitLimits } from '../results/split';
import type { StoreResults } from '../results/writer';
import type { StagedKeys } from './layout';
import type { BlobStore, ByteRange } from './types';

/** Worker env: keep a batch's staged inputs after its results are written (`1`/`true`). */
export const KEEP_INPUTS_VAR = 'ANYBATCH_KEEP_INPUTS';

export function keepInputs(env: NodeJS.ProcessEnv = process.env): boolean {
  return ['1', 'true', 'yes', 'on'].includes((env[KEEP_INPUTS_VAR] ?? '').trim().toLowerCase());
}

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

/** What an adapter gets for a part: local paths. */
export interface PartFiles {
  /** The part's input file; for a batch in a remote store, the URI of the object it is in (read it with `read`). */
  path: string;
  /**
   * For a batch in a remote store: the part's bytes, streamed from the store on each call (one ranged read when the
   * part is a range of the staged input), and an error rather than fewer bytes when the store returns less than the
   * part. The part is never copied to the worker. Absent for a local folder store, where `path` is the part.
   */
  read?: () => AsyncIterable<Buffer>;
  /** The name the part's file goes by at the provider, where it is not the base name of `path`. */
  name?: string;
  /**
   * Where the part is in `path` when it is a byte range of the staged input (a local folder store: the input itself,
   * never copied); absent when `path` holds the part alone.
   */
  range?: { offset: number; bytes: number };
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
  /** The adapter reads the part's input: fail clearly, before the adapter runs, when it is gone. */
  input?: boolean;
}

/** Where a batch's results are written: a local folder, or under a prefix of the store. */
export type ResultsTarget = string | StoreResults;

/** A batch's staged data as objects of its store, for steps that read and write them by key. */
export interface StagedObjects {
  readonly store: BlobStore;
  /** The batch's staged keys, in the layout its spec names (its run folder, or the flat layout). */
  readonly keys: StagedKeys;
  /** How plans and messages name a key: the file for a local folder store, the URI otherwise. */
  placeOf(key: string): string;
}

/** One batch's files, as the worker sees them (its spec checked by `WorkerFiles.forBatch`). */
export interface BatchFiles {
  readonly spec: BatchSpec;

  /** The staged input, for messages. */
  readonly inputPlace: string;
  /** The request ids recorded at validation, for messages. */
  readonly idsPlace: string;

  /**
   * Splits the staged input into parts (written beside it, or as objects at the batch's part keys), each with its
   * token estimate unless `estimateTokens` is false (src/tokens: one more streaming pass over the input); idempotent.
   */
  plan(limits: SplitLimits, estimateTokens?: boolean): Promise<PartPlan[]>;

  /**
   * The key of a part's input: the staged input itself (a single part) or the batch's part key. A part naming
   * anything else (another batch's key, a file outside the store) is refused.
   */
  partKey(part: PartPlan): string;

  /** The byte range of the part's key that is the part (a part planned as a range of the staged input), or null: all of it. */
  partRange(part: PartPlan): Required<ByteRange> | null;

  /** The local paths an adapter is given for a part (the input file may not be there: see `withPart`). */
  partFiles(part: PartPlan): PartFiles;

  /**
   * Runs an adapter call on a part's local files. For a batch in S3: the input is downloaded first (with
   * `input`), the work folder restored from the store before and synced back to it during and after the call
   * (also when the call fails: an adapter's marker written before a failed request matters most).
   */
  withPart<T>(part: PartPlan, opts: WithPartOptions, fn: (files: PartFiles) => Promise<T>): Promise<T>;

  /** The custom_ids of a part: from its input, else from the ids recorded at validation; null when neither is there. */
  partIds(part: PartPlan): Promise<AsyncIterable<string> | null>;

  /**
   * The staged data as objects of the batch's store (to copy, re-split or read a part by key). A batch staged before
   * the blob store has none: `refusal()` is thrown, the caller's own error saying what cannot be done.
   */
  objects(refusal: () => Error): StagedObjects;

  /** Where results are written: the store's folder or keys, or a caller's own folder (`resultsDir`, checked by `forBatch`). */
  readonly results: ResultsTarget;
  /** The same place as a store and prefix (a results folder is a local store rooted at it). */
  readonly resultsStore: StoreResults;
  /** The results folder or prefix, for messages. */
  readonly resultsPlace: string;
  /** The merged files as a batch reports them: with their URIs, for a batch with a store. */
  withUris(files: BatchResultFiles): BatchResultFiles;

  /**
   * Once the merged results exist: deletes the staged inputs (exactly the batch's own keys; unless
   * ANYBATCH_KEEP_INPUTS, or `keepInputs` while a given-up part may still be recovered from them) and this worker's
   * scratch. A batch staged before the blob store keeps its inputs, as it always did. Idempotent; best effort (the
   * results are written: a failure is returned for a warning, not thrown).
   */
  cleanUp(env?: NodeJS.ProcessEnv, opts?: { keepInputs?: boolean }): Promise<string[]>;
}
