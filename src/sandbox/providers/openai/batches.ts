/**
 * The batch store: records what happened to each batch (creation, validation result, cancel) and derives
 * its state from the clock on every read. When a read finds a batch terminal for the first time, the
 * output and error files are written and the final view is latched, so later reads agree exactly.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { badRequest, notFound } from '../../kernel/http';
import type { RequestFault } from '../../kernel/faults';
import type { WrittenFile } from '../../kernel/jsonl';
import type { SortKey } from '../../kernel/pagination';
import { advance, finishOnce, RecordBook, type Latched } from '../../kernel/store';
import type { FileStore, StoredFile } from './files';
import { admitTokens, ENQUEUED_STATUSES } from './enqueued';
import { newBatchId } from './ids';
import { checkInput, type InputCheck, type LineRules } from './input-check';
import { deriveState, needsCheck, requestCounts, runStartMs, usage, type BatchState, type LifecycleFacts, type Timing } from './lifecycle';
import { paginate } from './list';
import { checkModels, FORCED_VALIDATION_ERROR } from './models';
import { writeOutputs } from './outputs';
import { TERMINAL_STATUSES, type BatchErrorJson, type BatchJson, type ListJson, type RequestCountsJson, type UsageJson } from './wire';

export interface NewBatch {
  inputFile: StoredFile;
  /** The endpoint as the create named it (the batch object shows it so). */
  endpoint: string;
  /** The endpoint it names, when the provider spells it otherwise (Azure's `/chat/completions`); absent: `endpoint`. */
  runEndpoint?: string;
  completionWindow: string;
  /** The completion window in seconds: when the batch expires unless the expireAfterSeconds fault says otherwise. */
  windowSeconds: number;
  metadata: Record<string, string | string[]> | null;
  /** Lifetime of the output and error files, from their creation; null for the default. */
  outputExpiresAfterSeconds: number | null;
}

export interface BatchStoreDeps {
  files: FileStore;
  /** Private copies of input files live here, so deleting an input file does not break a running batch. */
  dir: string;
  tmpDir: string;
  now: () => number;
  timing: Timing;
  maxRequests: number;
  /** Refuse an input naming more than one model (OpenAI, Azure), or not (Groq). */
  singleModel: boolean;
  /** Write result lines in a seeded shuffled order (Azure: no guaranteed order) rather than in input order. */
  shuffleResults: boolean;
  /**
   * Per model, most prompt tokens enqueued at once (`SandboxOptions.enqueuedTokenLimit`); null or absent: no limit
   * (the Mistral and Together modules, whose errors for such a limit are undocumented, set none).
   */
  enqueuedTokenLimit?: number | null;
  /** The request fault of a batch being created (the kernel's `FaultInjector.requestFault`); absent: none. */
  requestFault?: () => RequestFault | null;
  /** How lines name their endpoint and the fewest requests a batch holds (see `LineRules`); absent: OpenAI's rules. */
  lines?: LineRules;
}

/** Everything a batch response shows, fixed once the batch is terminal. */
interface BatchView {
  state: Omit<BatchState, 'plan'>;
  model: string | null;
  counts: RequestCountsJson;
  usage: UsageJson | null;
  outputFileId: string | null;
  errorFileId: string | null;
}

interface BatchRecord extends LifecycleFacts, Latched<BatchView> {
  id: string;
  endpoint: string;
  inputFileId: string;
  inputPath: string;
  completionWindow: string;
  metadata: Record<string, string | string[]> | null;
  outputExpiresAfterSeconds: number | null;
  checking: Promise<void>;
  /** Which of its requests the request fault fails (drawn at creation). */
  requestFault: RequestFault | null;
  /** The prompt tokens per model it holds while enqueued; null until it was admitted, and for a batch that failed validation. */
  enqueued: ReadonlyMap<string, number> | null;
}

export class BatchStore {
  private readonly batches: RecordBook<BatchRecord>;
  /** The latest batch's validation with the enqueued token limit: each batch is admitted after the ones before it. */
  private admitted: Promise<void> = Promise.resolve();

  constructor(private readonly deps: BatchStoreDeps) {
    this.batches = new RecordBook(deps.now);
  }

  async init(): Promise<void> {
    await fs.mkdir(this.deps.dir, { recursive: true });
  }

  /** Registers a `validating` batch and starts validating its input in the background. */
  async create(input: NewBatch, faults: { failValidation?: boolean; expireAfterSeconds?: number; models?: string[] }): Promise<BatchJson> {
    const createdMs = this.deps.now();
    const id = newBatchId();
    const inputPath = path.join(this.deps.dir, `${id}.jsonl`);
    await linkOrCopy(input.inputFile.path, inputPath);
    const record: BatchRecord = {
      id,
      endpoint: input.endpoint,
      inputFileId: input.inputFile.id,
      inputPath,
      completionWindow: input.completionWindow,
      metadata: input.metadata,
      outputExpiresAfterSeconds: input.outputExpiresAfterSeconds,
      createdMs,
      expiresMs: createdMs + (faults.expireAfterSeconds ?? input.windowSeconds) * 1000,
      check: null,
      cancelMs: null,
      checking: Promise.resolve(),
      requestFault: this.deps.requestFault?.() ?? null,
      enqueued: null,
      seenMs: createdMs,
      final: null,
      finishing: null,
    };
    const checked: Promise<InputCheck> = faults.failValidation
      ? Promise.resolve({ ok: false, errors: [FORCED_VALIDATION_ERROR] })
      : checkModels(inputPath, faults.models, () => checkInput(inputPath, input.runEndpoint ?? input.endpoint, this.deps.maxRequests, this.deps.singleModel, record.requestFault, this.deps.lines)).catch((err: unknown) => ({
          ok: false,
          errors: [unreadable(err)],
        }));
    record.checking = this.admit(record, checked);
    this.batches.add(id, record, createdMs);
    return this.toJson(record, this.view(record, createdMs));
  }

  async retrieve(id: string): Promise<BatchJson> {
    const record = this.require(id);
    const t = this.deps.now();
    return this.toJson(record, await this.settle(record, t));
  }

  /** Starts cancelling an active batch; `changed` is false when it was already cancelling. */
  async cancel(id: string): Promise<{ batch: BatchJson; changed: boolean }> {
    const record = this.require(id);
    await this.settle(record, this.deps.now());
    // The latest reading any client was shown: cancelling there keeps counts from going backwards, and
    // settle has made every state up to it derivable (validation awaited, terminal states latched).
    const t = record.seenMs;
    const view = record.final ?? this.view(record, t);
    const status = view.state.status;
    if (status === 'cancelling') return { batch: this.toJson(record, view), changed: false };
    if (TERMINAL_STATUSES.includes(status)) throw badRequest(`Cannot cancel a batch with status '${status}'.`);
    record.cancelMs = t;
    return { batch: this.toJson(record, await this.settle(record, t)), changed: true };
  }

  /** Newest first; `after` is the id of the last batch of the previous page. */
  async list(after: string | null, limit: number): Promise<ListJson<BatchJson>> {
    const cursor = after === null ? null : this.keyOf(after, 'after');
    const page = paginate(this.batches.entries(), { order: 'desc', after: cursor, limit });
    const t = this.deps.now();
    const data = await Promise.all(page.data.map(async (record) => this.toJson(record, await this.settle(record, t))));
    return { ...page, data };
  }

  /** How many batches are in each status now, without waiting on validation or output files. */
  countByStatus(): Record<string, number> {
    const counts: Record<string, number> = {};
    const t = this.deps.now();
    for (const record of this.batches.values()) {
      const status = (record.final ?? this.view(record, t)).state.status;
      counts[status] = (counts[status] ?? 0) + 1;
    }
    return counts;
  }

  /** The batches in a terminal status now, with it (for the webhooks the sandbox sends). */
  ended(): Array<{ id: string; status: string }> {
    const t = this.deps.now();
    const out: Array<{ id: string; status: string }> = [];
    for (const record of this.batches.values()) {
      const status = (record.final ?? this.view(record, t)).state.status;
      if (TERMINAL_STATUSES.includes(status)) out.push({ id: record.id, status });
    }
    return out;
  }

  /** Waits for background validation and output writing, so the data directory can be removed. */
  async drain(): Promise<void> {
    const pending = this.batches.values().flatMap((r) => (r.finishing ? [r.checking, r.finishing] : [r.checking]));
    await Promise.allSettled(pending);
  }

  /**
   * Records the validation result. With the enqueued token limit, a valid batch is then admitted against the
   * batches of its models enqueued when it was created, after every earlier batch was decided (so their tokens
   * are known), in creation order.
   */
  private admit(record: BatchRecord, checked: Promise<InputCheck>): Promise<void> {
    const limit = this.deps.enqueuedTokenLimit ?? null;
    const decide = (check: InputCheck): void => {
      const final = limit === null ? check : admitTokens(check, limit, (model) => this.enqueuedAt(model, record.createdMs));
      record.check = final;
      record.enqueued = final.ok ? final.plan.enqueuedTokens : null;
    };
    if (limit === null) return checked.then(decide);
    const decided = Promise.all([checked, this.admitted]).then(([check]) => decide(check));
    this.admitted = decided.catch(() => undefined);
    return decided;
  }

  /** The tokens of `model` that batches admitted earlier hold at `t`. */
  private enqueuedAt(model: string, t: number): number {
    let total = 0;
    for (const record of this.batches.values()) {
      const tokens = record.enqueued?.get(model);
      if (tokens !== undefined && this.holdsTokensAt(record, t)) total += tokens;
    }
    return total;
  }

  /** Whether an admitted batch was `validating`, `in_progress` or `finalizing` at `t`; a cancel after `t` did not count yet. */
  private holdsTokensAt(record: BatchRecord, t: number): boolean {
    if (t < record.createdMs) return false;
    if (record.final) {
      const s = record.final.state;
      return t < (s.cancellingMs ?? s.completedMs ?? s.expiredMs ?? s.failedMs ?? Infinity);
    }
    const facts = record.cancelMs !== null && record.cancelMs > t ? { ...record, cancelMs: null } : record;
    return ENQUEUED_STATUSES.includes(deriveState(facts, t, this.deps.timing).status);
  }

  private require(id: string, param: string | null = null): BatchRecord {
    const record = this.batches.get(id);
    if (!record) throw notFound(`No batch found with id '${id}'.`, param);
    return record;
  }

  private keyOf(id: string, param: string): SortKey {
    this.require(id, param);
    return this.batches.keyOf(id) as SortKey;
  }

  /** The view at `t` (or later), after waiting for whatever that view depends on (validation, output files). */
  private async settle(record: BatchRecord, t: number): Promise<BatchView> {
    if (needsCheck(record, t, this.deps.timing)) await record.checking;
    if (record.finishing) await record.finishing; // another read found it terminal; never show an older state
    if (record.final) return record.final;
    const at = advance(record, t);
    const state = deriveState(record, at, this.deps.timing);
    if (!TERMINAL_STATUSES.includes(state.status)) return this.view(record, at);
    await finishOnce(record, () => this.finish(record, state));
    return record.final ?? this.view(record, at);
  }

  private view(record: BatchRecord, t: number): BatchView {
    if (record.final) return record.final;
    const state = deriveState(record, t, this.deps.timing);
    return { state, model: state.plan?.model ?? null, counts: requestCounts(state), usage: usage(state), outputFileId: null, errorFileId: null };
  }

  /** Writes the result files of a batch that just became terminal and latches its final view. */
  private async finish(record: BatchRecord, state: BatchState): Promise<void> {
    const endedMs = state.completedMs ?? state.cancelledMs ?? state.expiredMs ?? state.failedMs ?? this.deps.now();
    let outputFileId: string | null = null;
    let errorFileId: string | null = null;
    if (state.plan) {
      const written = await writeOutputs({
        batchId: record.id,
        endpoint: state.plan.endpoint,
        inputPath: record.inputPath,
        processed: state.processed,
        unrun: state.unrun,
        runStartMs: runStartMs(record.createdMs + this.deps.timing.validationMs, this.deps.timing),
        rate: this.deps.timing.rate,
        tmpDir: this.deps.tmpDir,
        shuffleSeed: this.deps.shuffleResults ? record.id : null,
        requestFault: record.requestFault,
      });
      outputFileId = await this.storeResult(record, written.output, 'output', endedMs);
      errorFileId = await this.storeResult(record, written.error, 'error', endedMs);
    }
    const { plan, ...rest } = state;
    record.final = {
      state: rest,
      model: plan?.model ?? null,
      counts: requestCounts(state),
      usage: usage(state),
      outputFileId,
      errorFileId,
    };
    record.check = null; // the final view is latched; let the per-request plan be collected
    await fs.rm(record.inputPath, { force: true });
  }

  /** Registers a written result file as the batch's `batch_output` file; null when there was nothing to write. */
  private async storeResult(record: BatchRecord, file: WrittenFile | null, kind: 'output' | 'error', createdMs: number): Promise<string | null> {
    if (!file) return null;
    const stored = await this.deps.files.add(
      {
        sourcePath: file.path,
        bytes: file.bytes,
        filename: `${record.id}_${kind}.jsonl`,
        purpose: 'batch_output',
        expiresAfterSeconds: record.outputExpiresAfterSeconds ?? undefined,
      },
      createdMs,
    );
    return stored.id;
  }

  private toJson(record: BatchRecord, view: BatchView): BatchJson {
    const s = view.state;
    const seconds = (ms: number | null): number | null => (ms === null ? null : Math.floor(ms / 1000));
    return {
      id: record.id,
      object: 'batch',
      endpoint: record.endpoint,
      model: view.model,
      errors: s.errors ? { object: 'list', data: s.errors } : null,
      input_file_id: record.inputFileId,
      completion_window: record.completionWindow,
      status: s.status,
      output_file_id: view.outputFileId,
      error_file_id: view.errorFileId,
      created_at: Math.floor(record.createdMs / 1000),
      in_progress_at: seconds(s.inProgressMs),
      expires_at: Math.floor(record.expiresMs / 1000),
      finalizing_at: seconds(s.finalizingMs),
      completed_at: seconds(s.completedMs),
      failed_at: seconds(s.failedMs),
      expired_at: seconds(s.expiredMs),
      cancelling_at: seconds(s.cancellingMs),
      cancelled_at: seconds(s.cancelledMs),
      request_counts: view.counts,
      usage: view.usage,
      metadata: record.metadata,
    };
  }
}

function unreadable(err: unknown): BatchErrorJson {
  const reason = err instanceof Error ? err.message : String(err);
  return { code: 'invalid_file', message: `The input file could not be read: ${reason}`, param: 'input_file_id', line: null };
}

/** A hard link is instant and shares the bytes; copy where the file system cannot link. */
async function linkOrCopy(source: string, target: string): Promise<void> {
  try {
    await fs.link(source, target);
  } catch {
    await fs.copyFile(source, target);
  }
}
