/**
 * The Message Batch store: records what happened to each batch (creation, cancel) and derives its state
 * from the clock on every read. When a read first finds a batch ended, its results file is written and
 * the final view is latched, so later reads agree exactly.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { RequestFault } from '../../kernel/faults';
import type { SortKey } from '../../kernel/pagination';
import { advance, finishOnce, RecordBook, type Latched } from '../../kernel/store';
import { copyRequests } from './envelope';
import { anthropicError } from './errors';
import { newMessageBatchId } from './ids';
import { deriveMessageBatchState, type MessageBatchFacts, type MessageBatchState, type MessageBatchTiming } from './lifecycle';
import { pageNewestFirst, type Page } from './list';
import { writeResults } from './results';
import { rfc3339 } from './time';
import type { MessageBatchCountsJson, MessageBatchJson } from './wire';

const DAY_MS = 24 * 3600 * 1000;

export interface MessageBatchStoreDeps {
  /** Each batch's stored requests and results file live here. */
  dir: string;
  tmpDir: string;
  now: () => number;
  timing: MessageBatchTiming;
  maxRequests: number;
  /** The request fault of a batch being created (the kernel's `FaultInjector.requestFault`); absent: none. */
  requestFault?: () => RequestFault | null;
}

interface View {
  state: MessageBatchState;
  counts: MessageBatchCountsJson;
}

interface FinalView extends View {
  resultsBytes: number;
}

interface MessageBatchRecord extends MessageBatchFacts, Latched<FinalView> {
  id: string;
  requestsPath: string;
  resultsPath: string;
  /** The failValidation fault as it was at create. */
  failAll: boolean;
  /** Which of its requests the request fault fails (drawn at create). */
  requestFault: RequestFault | null;
}

export interface StoredResults {
  path: string;
  bytes: number;
}

/**
 * Batches as the store shows them: `results_url` is the results path (`/v1/messages/batches/{id}/results`); the
 * HTTP layer makes it absolute on the mount the request came through, as the real API's is absolute.
 */
export class MessageBatchStore {
  /** Sort keys outlive deletion, so a deleted batch's id stays a valid list cursor. */
  private readonly batches: RecordBook<MessageBatchRecord>;

  constructor(private readonly deps: MessageBatchStoreDeps) {
    this.batches = new RecordBook(deps.now);
  }

  async init(): Promise<void> {
    await fs.mkdir(this.deps.dir, { recursive: true });
  }

  /** Checks the create body at `bodyPath`, stores its requests and registers an `in_progress` batch. */
  async create(bodyPath: string, faults: { failValidation?: boolean; expireAfterSeconds?: number }): Promise<MessageBatchJson> {
    const id = newMessageBatchId();
    const requestsPath = path.join(this.deps.dir, `${id}.requests.jsonl`);
    const total = await copyRequests(bodyPath, requestsPath, this.deps.maxRequests);
    const createdMs = this.deps.now();
    const record: MessageBatchRecord = {
      id,
      requestsPath,
      resultsPath: path.join(this.deps.dir, `${id}.results.jsonl`),
      failAll: faults.failValidation === true,
      requestFault: this.deps.requestFault?.() ?? null,
      createdMs,
      expiresMs: createdMs + (faults.expireAfterSeconds === undefined ? DAY_MS : faults.expireAfterSeconds * 1000),
      total,
      cancelMs: null,
      seenMs: createdMs,
      final: null,
      finishing: null,
    };
    this.batches.add(id, record, createdMs);
    return this.toJson(record, this.view(record, createdMs));
  }

  async retrieve(id: string): Promise<MessageBatchJson> {
    const record = this.require(id);
    return this.toJson(record, await this.settle(record, this.deps.now()));
  }

  /** Starts canceling a batch in progress; `changed` is false when it was already canceling. */
  async cancel(id: string): Promise<{ batch: MessageBatchJson; changed: boolean }> {
    const record = this.require(id);
    const view = await this.settle(record, this.deps.now());
    if (view.state.status === 'canceling') return { batch: this.toJson(record, view), changed: false };
    if (view.state.status === 'ended') throw anthropicError(400, `Message batch ${id} has already ended and can no longer be canceled.`);
    // Cancel at the latest reading any client was shown, so processing never appears to go backwards.
    record.cancelMs = record.seenMs;
    return { batch: this.toJson(record, await this.settle(record, record.seenMs)), changed: true };
  }

  /** Forgets an ended batch and its results; a batch still processing must be canceled first. */
  async delete(id: string): Promise<{ id: string; type: 'message_batch_deleted' }> {
    const record = this.require(id);
    const view = await this.settle(record, this.deps.now());
    if (view.state.status !== 'ended') {
      throw anthropicError(400, `Message batch ${id} is still ${view.state.status}; only ended batches can be deleted (cancel it first).`);
    }
    this.batches.delete(id);
    await fs.rm(record.resultsPath, { force: true }); // a download already streaming keeps its open descriptor
    return { id, type: 'message_batch_deleted' };
  }

  /** The results file of an ended batch. */
  async results(id: string): Promise<StoredResults> {
    const record = this.require(id);
    const view = await this.settle(record, this.deps.now());
    if (!record.final) {
      throw anthropicError(400, `Message batch ${id} is still ${view.state.status}; results are available once processing has ended.`);
    }
    return { path: record.resultsPath, bytes: record.final.resultsBytes };
  }

  async list(cursor: { afterId: string | null; beforeId: string | null }, limit: number): Promise<Page<MessageBatchJson>> {
    const page = pageNewestFirst(
      this.batches.entries(),
      { after: this.cursor(cursor.afterId, 'after_id'), before: this.cursor(cursor.beforeId, 'before_id') },
      limit,
    );
    const t = this.deps.now();
    const data = await Promise.all(page.data.map(async (record) => this.toJson(record, await this.settle(record, t))));
    return { ...page, data };
  }

  /** How many batches are in each processing status now, without waiting on results files. */
  countByStatus(): Record<string, number> {
    const counts: Record<string, number> = {};
    const t = this.deps.now();
    for (const record of this.batches.values()) {
      const key = this.view(record, t).state.status;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  }

  /** Waits for results files being written, so the data directory can be removed. */
  async drain(): Promise<void> {
    await Promise.allSettled(this.batches.values().flatMap((record) => (record.finishing ? [record.finishing] : [])));
  }

  private require(id: string): MessageBatchRecord {
    const record = this.batches.get(id);
    if (!record) throw anthropicError(404, `No message batch found with id '${id}'.`);
    return record;
  }

  private cursor(id: string | null, param: string): SortKey | null {
    if (id === null) return null;
    const key = this.batches.keyOf(id);
    if (!key) throw anthropicError(404, `${param}: no message batch found with id '${id}'.`);
    return key;
  }

  /** The view at `t` (or later), after writing the results file if the batch has ended. */
  private async settle(record: MessageBatchRecord, t: number): Promise<View> {
    if (record.finishing) await record.finishing; // another read found it ended; never show an older state
    if (record.final) return record.final;
    const at = advance(record, t);
    const state = deriveMessageBatchState(record, at, this.deps.timing);
    if (state.status !== 'ended') return this.view(record, at);
    await finishOnce(record, () => this.finish(record, state));
    return record.final ?? this.view(record, at);
  }

  /** Until a batch ends, every request counts as processing; the buckets fill all at once at the end. */
  private view(record: MessageBatchRecord, t: number): View {
    if (record.final) return record.final;
    return {
      state: deriveMessageBatchState(record, t, this.deps.timing),
      counts: { processing: record.total, succeeded: 0, errored: 0, canceled: 0, expired: 0 },
    };
  }

  private async finish(record: MessageBatchRecord, state: MessageBatchState): Promise<void> {
    const written = await writeResults({
      batchId: record.id,
      requestsPath: record.requestsPath,
      total: record.total,
      processed: state.processed,
      unprocessed: state.unprocessed,
      failAll: record.failAll,
      requestFault: record.requestFault,
      tmpDir: this.deps.tmpDir,
      target: record.resultsPath,
    });
    record.final = { state, counts: written.counts, resultsBytes: written.bytes };
    await fs.rm(record.requestsPath, { force: true });
  }

  private toJson(record: MessageBatchRecord, view: View): MessageBatchJson {
    const { status, endedMs } = view.state;
    return {
      id: record.id,
      type: 'message_batch',
      processing_status: status,
      request_counts: view.counts,
      ended_at: endedMs === null ? null : rfc3339(endedMs),
      created_at: rfc3339(record.createdMs),
      expires_at: rfc3339(record.expiresMs),
      archived_at: null, // results stay downloadable for the sandbox's whole life
      cancel_initiated_at: record.cancelMs === null ? null : rfc3339(record.cancelMs),
      results_url: status === 'ended' ? `/v1/messages/batches/${encodeURIComponent(record.id)}/results` : null,
    };
  }
}
