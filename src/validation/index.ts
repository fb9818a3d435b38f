/**
 * Validation of an input JSONL file before anything is started: one streaming pass that checks every line
 * and, on request, stages the accepted lines as the copy the worker will read.
 */
import { UsageError } from '../errors';
import type { ProviderCapabilities } from '../providers/catalog';
import { openInput } from './input-file';
import { InputScan } from './scan';
import type { PayloadCheck } from './scan';

export type { PayloadCheck } from './scan';
import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { BlobStore } from '../storage/types';
import { StagedFile, StagedObject } from './staging';
import { PartCutter } from '../results/split';
import type { PartRange, SplitLimits } from '../results/split';

/**
 * Where the custom_ids of a staged input are kept (one JSON string a line, in input order), beside it, so that
 * a batch whose staged input is lost can still account for every request in its error file.
 */
export function requestIdsPath(stagedPath: string): string {
  return stagedPath.replace(/\.jsonl$/, '') + '.ids.jsonl';
}

export interface ValidationTarget {
  /** Path as the user gave it (used in error messages). */
  file: string;
  /** E.g. `/v1/chat/completions`. */
  endpoint: string;
  /** From the catalog. */
  capabilities: ProviderCapabilities;
  /** A lower per-batch limit than the provider's (optional). */
  maxRequests?: number;
  /** Idem, in bytes. */
  maxBytes?: number;
  /**
   * When false, too many requests/bytes is NOT an error (a later feature splits the input into several
   * provider batches). Default true.
   */
  enforceBatchLimits?: boolean;
  /** Provider-specific checks of each request body (see `PayloadCheck`). */
  checkPayload?: PayloadCheck;
  /**
   * With staging: cut the staged copy into parts by these limits while it is written (`ValidatedInput.parts`), so the
   * split needs no pass of its own (src/storage/input-plan.ts).
   */
  cutParts?: SplitLimits;
}

export interface ValidatedInput {
  requestCount: number;
  /** Bytes of the staged file. */
  bytes: number;
  /** Distinct body.model values, in first-seen order. */
  models: string[];
  /** Provider warnings (fields dropped or changed in translation), each once. */
  warnings: string[];
  /** Where the staged copy is: its path for `stageTo` or a local folder store, its URI for another store; null when not staged. */
  stagedPath: string | null;
  /** The staged copy's parts as byte ranges, cut by `cutParts` (null without it, or without staging). */
  parts: PartRange[] | null;
}

/** Staging into a blob store: the accepted lines go to `inputKey`, their custom_ids to `idsKey` (see `layout`). */
export interface StoreStaging {
  store: BlobStore;
  inputKey: string;
  idsKey: string;
}

/** What a staged copy is written through: a temp file renamed into place, or a put streaming into a store. */
interface Staged {
  write(bytes: Buffer): Promise<void>;
  commit(): Promise<unknown>;
  discard(): Promise<void>;
}

/**
 * Streams the file once; when `stageTo` is given, writes the accepted lines there (atomically: temp file +
 * rename; removed on failure). With `stageInto` they go into a blob store instead, while the file is read: a
 * local folder store takes the same temp file + rename path at the key's file; another store (S3) gets a
 * streamed put that is aborted on failure, so nothing partial remains. Either way the ids are committed before
 * the input (a staged input is never without its ids). Throws InputValidationError listing up to 20 issues
 * (line, field, message) and the total count, or UsageError when the target itself is wrong.
 */
export async function validateInputFile(
  path: string,
  target: ValidationTarget,
  opts: { stageTo?: string; stageInto?: StoreStaging } = {},
): Promise<ValidatedInput> {
  if (opts.stageTo !== undefined && opts.stageInto !== undefined) throw new UsageError('validateInputFile takes stageTo or stageInto, not both.');
  const into = opts.stageInto;
  // A local folder store is staged exactly as `stageTo` is (the fast path): the files are where the keys map.
  const inPlace = into ? into.store.localFile(into.inputKey) : null;
  const stageTo = inPlace ?? opts.stageTo;
  const idsTo = inPlace !== null ? into!.store.localFile(into!.idsKey)! : stageTo !== undefined ? requestIdsPath(stageTo) : undefined;
  const stagedPath = stageTo ?? (into ? into.store.uri(into.inputKey) : null);
  const staging = stageTo !== undefined || into !== undefined;
  const cutter = staging && target.cutParts ? new PartCutter(target.cutParts) : undefined;
  const scan = new InputScan({
    endpoint: supportedEndpoint(target),
    capabilities: target.capabilities,
    maxRequests: batchLimit('maxRequests', target.maxRequests, target.capabilities.maxRequestsPerBatch),
    maxBytes: batchLimit('maxBytes', target.maxBytes, target.capabilities.maxBytesPerBatch),
    enforceBatchLimits: target.enforceBatchLimits ?? true,
    stage: staging,
    checkPayload: target.checkPayload,
    cutter,
  });

  const input = await openInput(path);
  if ('problem' in input) {
    scan.issues.add({ message: input.problem });
    throw scan.issues.toError(target.file);
  }

  let staged: Staged | null = null;
  let ids: Staged | null = null;
  const stageIds = async () => {
    const chunk = scan.takeIds();
    if (ids && chunk) await ids.write(chunk);
  };
  try {
    if (stageTo !== undefined) {
      if (inPlace !== null) await mkdir(dirname(stageTo), { recursive: true });
      staged = await StagedFile.create(stageTo);
      ids = await StagedFile.create(idsTo!);
    } else if (into) {
      ids = StagedObject.create(into.store, into.idsKey);
      staged = StagedObject.create(into.store, into.inputKey);
    }
    for await (const chunk of input.stream) {
      const accepted = scan.push(chunk as Buffer);
      if (staged && accepted) await staged.write(accepted);
      await stageIds();
    }
    const last = scan.finish();
    if (staged && last) await staged.write(last);
    await stageIds();
    if (scan.issues.total > 0) throw scan.issues.toError(target.file);
    // The ids first: a staged input is never without its ids.
    await ids?.commit();
    await staged?.commit();
  } catch (error) {
    input.stream.destroy();
    await staged?.discard();
    await ids?.discard();
    if (ids && idsTo !== undefined) await rm(idsTo, { force: true });
    throw error;
  }

  return {
    requestCount: scan.requestCount,
    bytes: scan.bytes,
    models: [...scan.models],
    warnings: [...scan.warnings],
    stagedPath,
    parts: cutter ? cutter.finish() : null,
  };
}

function supportedEndpoint({ endpoint, capabilities }: ValidationTarget): string {
  if (!capabilities.endpoints.includes(endpoint)) {
    const supported = capabilities.endpoints.join(', ');
    throw new UsageError(`Endpoint "${endpoint}" is not supported by ${capabilities.name}; supported endpoints: ${supported}.`);
  }
  return endpoint;
}

/** The caller's lower limit when given, never above the provider's. */
function batchLimit(name: string, requested: number | undefined, providerLimit: number): number {
  if (requested === undefined) return providerLimit;
  if (!Number.isInteger(requested) || requested < 1) {
    throw new UsageError(`${name} must be a positive integer, got ${requested}.`);
  }
  return Math.min(requested, providerLimit);
}
