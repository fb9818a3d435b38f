/**
 * A batch in a local folder store: the store's keys are today's ANYBATCH_HOME paths (`LocalBlobStore.pathOf`), used
 * directly: no copies, the same files and the same speed as before the blob store. Parts are split into files beside
 * the staged input; an adapter gets the part's own files and work folder, which are the store.
 */
import fs from 'node:fs';
import { readFileChunks } from '../results/jsonl';
import { splitInput } from '../results/split';
import type { SplitLimits } from '../results/split';
import { idsOfInput, idsOfInputChunks, idsOfList } from '../results/writer';
import type { BatchSpec, PartPlan } from '../contract/spec';
import type { PartFiles, ResultsTarget, WithPartOptions } from './batch-files';
import type { StorageRef } from './layout';
import type { LocalBlobStore } from './local';
import { StagedBatch } from './staged-batch';

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

const nothingToPersist = async (): Promise<void> => undefined;

export class LocalBatchFiles extends StagedBatch {
  constructor(
    spec: BatchSpec,
    private readonly folder: LocalBlobStore,
    ref: StorageRef | undefined = spec.storage,
  ) {
    super(spec, folder, ref);
  }

  /** The file a key (or a folder prefix) is. */
  private file(key: string): string {
    return this.folder.pathOf(key.replace(/\/$/, ''));
  }

  protected override placeOf(key: string): string {
    return this.file(key);
  }

  protected override inputChunks(): AsyncIterable<Buffer> {
    return readFileChunks(this.file(this.ref.inputKey));
  }

  protected override async split(limits: SplitLimits): Promise<PartPlan[]> {
    const file = this.file(this.ref.inputKey);
    const keys = this.keys;
    await checkReadable(file);
    return splitInput(file, limits, { partPath: (i) => this.file(keys.part(i)) });
  }

  override partFiles(part: PartPlan): PartFiles {
    const key = this.partKey(part);
    const range = this.partRange(part);
    // A part planned as a range of the staged input is read there, in place: never copied.
    return {
      path: this.file(key),
      ...(range !== null ? { range: { offset: range.start, bytes: range.end - range.start + 1 } } : {}),
      workDir: this.file(this.keys.work(part.index)),
      persist: nothingToPersist,
    };
  }

  override async withPart<T>(part: PartPlan, opts: WithPartOptions, fn: (files: PartFiles) => Promise<T>): Promise<T> {
    const files = this.partFiles(part);
    if (opts.input) await checkReadable(files.path);
    return fn(files);
  }

  override async partIds(part: PartPlan): Promise<AsyncIterable<string> | null> {
    const first = part.firstRequest ?? (part.requestCount === this.spec.input.requestCount ? 0 : undefined);
    const input = this.file(this.partKey(part));
    const range = this.partRange(part);
    const ids = this.file(this.keys.ids);
    if (readableFile(input)) return range !== null ? idsOfInputChunks(readFileChunks(input, undefined, range)) : idsOfInput(input);
    if (first !== undefined && readableFile(ids)) return idsOfList(ids, first, part.requestCount);
    return null;
  }

  protected override resultsUnder(prefix: string): ResultsTarget {
    return this.file(prefix);
  }
}
