/**
 * What the three storage strategies of a batch's files (src/storage/batch-files.ts) share: the batch's own keys (read
 * from its spec, or refused), how a part names its input, where the results go, and the clean-up of exactly the
 * batch's own staged keys (`StagedKeys.owns`: input, request ids, parts, work folders) once they are written.
 */
import { pathToFileURL } from 'node:url';
import type { BatchResultFiles } from '../contract/batch';
import type { BatchSpec, PartPlan } from '../contract/spec';
import type { SplitLimits } from '../results/split';
import type { StoreResults } from '../results/writer';
import { LineEstimator, estimateParts } from '../tokens';
import { deleteStaged } from './batch-data';
import { StorageRefusedError, checkPartIndex, keepInputs } from './batch-files';
import type { BatchFiles, PartFiles, ResultsTarget, StagedObjects, WithPartOptions } from './batch-files';
import { stagedKeys } from './layout';
import type { StagedKeys, StorageRef } from './layout';
import { LocalBlobStore } from './local';
import type { BlobStore, ByteRange } from './types';
import { decodeInputPlan, readInputPlan } from './input-plan';
import { parseRangedPath, rangedPath } from './part-range';

export abstract class StagedBatch implements BatchFiles {
  protected readonly ref: StorageRef;
  /** The batch's staged keys, in the layout its spec names (its run folder, or the flat layout). */
  protected readonly keys: StagedKeys;

  constructor(
    readonly spec: BatchSpec,
    protected readonly store: BlobStore,
    ref: StorageRef | undefined,
  ) {
    if (!ref) throw new StorageRefusedError(spec.batchId, 'it has no store');
    this.ref = ref;
    const keys = stagedKeys(spec.batchId, ref.inputKey);
    if (!keys) throw new StorageRefusedError(spec.batchId, `its input key ${JSON.stringify(ref.inputKey)} is not its own`);
    this.keys = keys;
  }

  protected get id(): string {
    return this.spec.batchId;
  }

  /** How plans and messages name a key: the file for a local store, the URI otherwise. */
  protected abstract placeOf(key: string): string;
  /** The staged input's bytes, read afresh. */
  protected abstract inputChunks(): AsyncIterable<Buffer>;
  /** Splits the staged input into parts (see `plan`). */
  protected abstract split(limits: SplitLimits): Promise<PartPlan[]>;
  /** The results of a batch whose results are the store's (under `prefix`). */
  protected abstract resultsUnder(prefix: string): ResultsTarget;

  abstract partFiles(part: PartPlan): PartFiles;
  abstract withPart<T>(part: PartPlan, opts: WithPartOptions, fn: (files: PartFiles) => Promise<T>): Promise<T>;
  abstract partIds(part: PartPlan): Promise<AsyncIterable<string> | null>;

  get inputPlace(): string {
    return this.placeOf(this.ref.inputKey);
  }

  get idsPlace(): string {
    return this.placeOf(this.keys.ids);
  }

  async plan(limits: SplitLimits, estimateTokens = true): Promise<PartPlan[]> {
    const parts = (await this.plannedParts(limits)) ?? (await this.split(limits));
    if (!estimateTokens) return parts;
    return estimateParts(this.inputChunks(), parts, new LineEstimator(this.spec.provider, this.spec.endpoint));
  }

  /**
   * The parts the client cut while staging (src/storage/input-plan.ts), as byte ranges of the staged input: no read of
   * the input. Null when there is no usable plan (the input is then split here).
   */
  private async plannedParts(limits: SplitLimits): Promise<PartPlan[] | null> {
    if (this.keys.plan === null) return null;
    const text = await readInputPlan(this.store, this.keys.plan);
    if (text === null) return null;
    const info = await this.store.head(this.ref.inputKey);
    if (!info) return null; // the split says what is missing
    const ranges = decodeInputPlan(text, limits, { requestCount: this.spec.input.requestCount, bytes: info.size });
    if (ranges === null) return null;
    const place = this.placeOf(this.ref.inputKey);
    // One part is the staged input itself, named as the split names it.
    if (ranges.length === 1) return [{ index: 0, path: place, requestCount: ranges[0].requestCount, bytes: info.size }];
    return ranges.map((r, index) => ({ index, path: rangedPath(place, r.start, r.bytes), requestCount: r.requestCount, bytes: r.bytes }));
  }

  partKey(part: PartPlan): string {
    const index = checkPartIndex(this.id, part?.index);
    const ranged = typeof part.path === 'string' ? parseRangedPath(part.path) : null;
    if (ranged !== null) {
      // A byte range of the staged input, of exactly the part's size (src/storage/part-range.ts).
      const key = this.ref.inputKey;
      const names = [key, this.placeOf(key), this.store.uri(key)];
      if (names.includes(ranged.place) && ranged.range.end - ranged.range.start + 1 === part.bytes) return key;
      throw new StorageRefusedError(this.id, `its part ${index} names ${JSON.stringify(part.path)}, which is not a range of ${part.bytes} bytes of the batch's staged input ${this.placeOf(key)}`);
    }
    const candidates = [this.ref.inputKey, this.keys.part(index)];
    for (const key of candidates) {
      if (part.path === key || part.path === this.placeOf(key) || part.path === this.store.uri(key)) return key;
    }
    // The whole input as one part (a batch whose planning failed carries the spec's input).
    if (part.path === this.spec.input.path) return this.ref.inputKey;
    throw new StorageRefusedError(this.id, `its part ${index} names ${JSON.stringify(part.path)}, which is not one of the batch's staged objects in ${this.store.rootUri()}`);
  }

  partRange(part: PartPlan): Required<ByteRange> | null {
    this.partKey(part); // refuses what is not the batch's own
    return parseRangedPath(part.path)?.range ?? null;
  }

  objects(_refusal: () => Error): StagedObjects {
    return { store: this.store, keys: this.keys, placeOf: (key) => this.placeOf(key) };
  }

  get results(): ResultsTarget {
    const prefix = this.ref.resultsPrefix;
    if (!prefix) return this.spec.resultsDir;
    return this.resultsUnder(prefix);
  }

  get resultsStore(): StoreResults {
    const target = this.results;
    return typeof target === 'string' ? { store: new LocalBlobStore(target), prefix: '' } : target;
  }

  get resultsPlace(): string {
    const target = this.results;
    return typeof target === 'string' ? target : target.store.uri(target.prefix.replace(/\/$/, ''));
  }

  withUris(files: BatchResultFiles): BatchResultFiles {
    if (files.output_uri && files.errors_uri) return files;
    return { ...files, output_uri: pathToFileURL(files.output_path).href, errors_uri: pathToFileURL(files.errors_path).href };
  }

  async cleanUp(env: NodeJS.ProcessEnv = process.env, opts: { keepInputs?: boolean } = {}): Promise<string[]> {
    const problems: string[] = [];
    const store = this.store;
    if (!keepInputs(env) && !opts.keepInputs) {
      try {
        await deleteStaged(store, this.id, this.keys);
      } catch (err) {
        problems.push(`could not delete the staged inputs of batch ${this.id} under ${store.uri(this.keys.listPrefix.replace(/\/$/, ''))}: ${(err as Error).message}`);
      }
    }
    await this.removeScratch(problems);
    return problems;
  }

  /** This worker's own copies of the batch's files, removed at the clean-up (none where the store's files are used in place). */
  protected async removeScratch(_problems: string[]): Promise<void> {}
}
