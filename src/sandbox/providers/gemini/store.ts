/**
 * Gemini's Files and batches: uploads (resumable sessions), stored files, and batches whose state is derived from
 * the clock on every read (pending for `validationMs`, then running at `rate` requests a second). When a read
 * first finds a batch ended, its output is written (inline responses in the batch, or a results file of
 * `{key, response}` / `{key, error}` lines) and the view is latched, so later reads agree exactly.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, promises as fs, type WriteStream } from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { readInputLines } from '../../kernel/jsonl';
import { advance, finishOnce, RecordBook, type Latched } from '../../kernel/store';
import { geminiError } from './errors';
import { reply, requestProblem } from './responder';

const HOUR_MS = 3600 * 1000;
/** Batches still pending or running after 48 h expire. */
const EXPIRY_MS = 48 * HOUR_MS;
const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Lowercase alphanumeric ids: the SDK cuts file URIs at the first other character. */
export function newGeminiId(length = 16): string {
  let out = '';
  for (const b of randomBytes(length)) out += ALNUM[b % ALNUM.length];
  return out;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export interface StoredFile {
  id: string;
  displayName: string | null;
  mimeType: string;
  sizeBytes: number;
  createdMs: number;
  path: string;
  source: 'UPLOADED' | 'GENERATED';
}

interface UploadSession {
  id: string;
  file: { displayName: string | null; mimeType: string; declaredBytes: number | null };
  path: string;
  out: WriteStream;
  received: number;
}

export type BatchState = 'BATCH_STATE_PENDING' | 'BATCH_STATE_RUNNING' | 'BATCH_STATE_SUCCEEDED' | 'BATCH_STATE_FAILED' | 'BATCH_STATE_CANCELLED' | 'BATCH_STATE_EXPIRED';

interface Derived {
  state: BatchState;
  endMs: number | null;
  processed: number;
}

interface FinalView extends Derived {
  succeeded: number;
  failed: number;
  inlined: unknown[] | null;
  responsesFile: string | null;
}

export interface BatchRecord extends Latched<FinalView> {
  id: string;
  model: string;
  displayName: string | null;
  mode: 'inline' | 'file';
  inputFile: string | null;
  /** `{key, request}` lines (inline requests are stored the same way, keyed by their metadata). */
  requestsPath: string;
  /** Inline requests' metadata, in order. */
  metadata: unknown[];
  total: number;
  createdMs: number;
  runMs: number;
  expiresMs: number;
  cancelMs: number | null;
  failAll: boolean;
}

export interface Timing {
  rate: number;
  validationMs: number;
  cancellingMs: number;
}

export class GeminiStore {
  readonly files: RecordBook<StoredFile>;
  private readonly uploads = new Map<string, UploadSession>();
  readonly batches: RecordBook<BatchRecord>;
  readonly counters = { filesCreated: 0, batchesCreated: 0, batchCancels: 0 };

  constructor(
    private readonly dir: string,
    private readonly now: () => number,
    private readonly timing: Timing,
    readonly maxRequests: number,
  ) {
    this.files = new RecordBook(now);
    this.batches = new RecordBook(now);
  }

  async init(): Promise<void> {
    await fs.mkdir(path.join(this.dir, 'files'), { recursive: true });
    await fs.mkdir(path.join(this.dir, 'batches'), { recursive: true });
  }

  // ---- files ----

  startUpload(file: UploadSession['file']): string {
    const id = newGeminiId(24);
    const p = path.join(this.dir, 'files', `upload-${id}`);
    const out = createWriteStream(p);
    out.on('error', () => undefined);
    this.uploads.set(id, { id, file, path: p, out, received: 0 });
    return id;
  }

  /** Appends one chunk at `offset`; on finalize the upload becomes a file. */
  async uploadChunk(uploadId: string, offset: number, chunks: AsyncIterable<Buffer>, finalize: boolean): Promise<StoredFile | null> {
    const session = this.uploads.get(uploadId);
    if (!session) throw geminiError(404, `Upload session ${uploadId} not found.`);
    if (offset !== session.received) throw geminiError(400, `Upload offset ${offset} does not match the ${session.received} bytes received.`);
    for await (const chunk of chunks) {
      session.received += chunk.length;
      if (!session.out.write(chunk)) await once(session.out, 'drain');
    }
    if (!finalize) return null;
    session.out.end();
    await finished(session.out);
    this.uploads.delete(uploadId);
    const id = newGeminiId();
    const target = path.join(this.dir, 'files', id);
    await fs.rename(session.path, target);
    const createdMs = this.now();
    const file: StoredFile = {
      id,
      displayName: session.file.displayName,
      mimeType: session.file.mimeType,
      sizeBytes: session.received,
      createdMs,
      path: target,
      source: 'UPLOADED',
    };
    this.files.add(id, file, createdMs);
    this.counters.filesCreated++;
    return file;
  }

  file(id: string): StoredFile {
    const file = this.files.get(id);
    if (!file) throw geminiError(403, `You do not have permission to access the File ${id} or it may not exist.`, 'PERMISSION_DENIED');
    return file;
  }

  async deleteFile(id: string): Promise<void> {
    const file = this.file(id);
    this.files.delete(id);
    await fs.rm(file.path, { force: true });
  }

  fileJson(file: StoredFile, base: string): Record<string, unknown> {
    const t = iso(file.createdMs);
    return {
      name: `files/${file.id}`,
      ...(file.displayName !== null ? { displayName: file.displayName } : {}),
      mimeType: file.mimeType,
      sizeBytes: String(file.sizeBytes),
      createTime: t,
      updateTime: t,
      expirationTime: iso(file.createdMs + EXPIRY_MS),
      sha256Hash: Buffer.from(file.id).toString('base64'),
      uri: `${base}/v1beta/files/${file.id}`,
      downloadUri: `${base}/v1beta/files/${file.id}:download?alt=media`,
      state: 'ACTIVE',
      source: file.source,
    };
  }

  // ---- batches ----

  /** Registers a batch from `{key, request}` lines already written to `requestsPath`. */
  addBatch(input: Omit<BatchRecord, 'id' | 'createdMs' | 'runMs' | 'expiresMs' | 'cancelMs' | 'seenMs' | 'final' | 'finishing'>, expireAfterSeconds: number | undefined): BatchRecord {
    const createdMs = this.now();
    const id = newGeminiId();
    const record: BatchRecord = {
      ...input,
      id,
      createdMs,
      runMs: createdMs + this.timing.validationMs,
      expiresMs: createdMs + (expireAfterSeconds === undefined ? EXPIRY_MS : expireAfterSeconds * 1000),
      cancelMs: null,
      seenMs: createdMs,
      final: null,
      finishing: null,
    };
    this.batches.add(id, record, createdMs);
    this.counters.batchesCreated++;
    return record;
  }

  requestsPathFor(): string {
    return path.join(this.dir, 'batches', `requests-${newGeminiId()}.jsonl`);
  }

  batch(id: string): BatchRecord {
    const record = this.batches.get(id);
    if (!record) throw geminiError(404, `Batch batches/${id} not found.`);
    return record;
  }

  derive(record: BatchRecord, t: number): Derived {
    const { rate, cancellingMs } = this.timing;
    const processedAt = (ms: number): number => Math.min(record.total, Math.max(0, Math.floor(((ms - record.runMs) * rate) / 1000)));
    if (record.failAll) {
      if (t < record.runMs) return { state: 'BATCH_STATE_PENDING', endMs: null, processed: 0 };
      return { state: 'BATCH_STATE_FAILED', endMs: record.runMs, processed: 0 };
    }
    if (record.cancelMs !== null) {
      const endMs = record.cancelMs + cancellingMs;
      if (t < endMs) return { state: record.cancelMs < record.runMs ? 'BATCH_STATE_PENDING' : 'BATCH_STATE_RUNNING', endMs: null, processed: processedAt(record.cancelMs) };
      return { state: 'BATCH_STATE_CANCELLED', endMs, processed: processedAt(record.cancelMs) };
    }
    const doneMs = record.runMs + Math.ceil((record.total * 1000) / rate);
    if (record.expiresMs < doneMs && t >= record.expiresMs) return { state: 'BATCH_STATE_EXPIRED', endMs: record.expiresMs, processed: processedAt(record.expiresMs) };
    if (t < record.runMs) return { state: 'BATCH_STATE_PENDING', endMs: null, processed: 0 };
    if (t < doneMs) return { state: 'BATCH_STATE_RUNNING', endMs: null, processed: processedAt(t) };
    return { state: 'BATCH_STATE_SUCCEEDED', endMs: doneMs, processed: record.total };
  }

  /** The view at now (or later), after writing the output if the batch has ended. */
  async settle(record: BatchRecord): Promise<Derived | FinalView> {
    if (record.finishing) await record.finishing;
    if (record.final) return record.final;
    const at = advance(record, this.now());
    const view = this.derive(record, at);
    if (view.endMs === null) return view;
    await finishOnce(record, () => this.finish(record, view));
    return record.final ?? view;
  }

  /** Starts cancelling; an ended batch cannot be. */
  async cancel(id: string): Promise<void> {
    const record = this.batch(id);
    const view = await this.settle(record);
    if (view.endMs !== null) throw geminiError(400, `Batch batches/${id} has already ended (${view.state}) and cannot be cancelled.`, 'FAILED_PRECONDITION');
    if (record.cancelMs !== null) return;
    record.cancelMs = record.seenMs;
    this.counters.batchCancels++;
  }

  async deleteBatch(id: string): Promise<void> {
    const record = this.batch(id);
    await record.finishing?.catch(() => undefined);
    this.batches.delete(id);
    await fs.rm(record.requestsPath, { force: true });
  }

  private async finish(record: BatchRecord, view: Derived): Promise<void> {
    let succeeded = 0;
    let failed = 0;
    const results: unknown[] = [];
    let writer: WriteStream | null = null;
    let fileId: string | null = null;
    let filePath = '';
    if (view.state !== 'BATCH_STATE_FAILED' && record.mode === 'file') {
      fileId = newGeminiId();
      filePath = path.join(this.dir, 'files', fileId);
      writer = createWriteStream(filePath);
      writer.on('error', () => undefined);
    }
    if (view.state !== 'BATCH_STATE_FAILED') {
      let index = 0;
      for await (const { text } of readInputLines(record.requestsPath)) {
        if (index >= view.processed) break;
        const line = JSON.parse(text) as { key?: string; request?: unknown };
        const key = line.key ?? String(index);
        const problem = requestProblem(line.request);
        const result: Record<string, unknown> = problem
          ? { error: { code: 3, message: problem, status: 'INVALID_ARGUMENT' } }
          : { response: reply(line.request as Record<string, unknown>, record.model, `${record.id}/${key}`) };
        if (problem) failed++;
        else succeeded++;
        if (writer) {
          if (!writer.write(`${JSON.stringify({ key, ...result })}\n`)) await once(writer, 'drain');
        } else {
          const metadata = record.metadata[index];
          results.push({ ...result, ...(metadata !== undefined ? { metadata } : {}) });
        }
        index++;
      }
    }
    let responsesFile: string | null = null;
    if (writer && fileId) {
      writer.end();
      await finished(writer);
      const stat = await fs.stat(filePath);
      const createdMs = this.now();
      this.files.add(fileId, { id: fileId, displayName: `batch-${record.id}-results`, mimeType: 'application/jsonl', sizeBytes: stat.size, createdMs, path: filePath, source: 'GENERATED' }, createdMs);
      responsesFile = `files/${fileId}`;
    }
    record.final = { ...view, succeeded, failed, inlined: record.mode === 'inline' && view.state !== 'BATCH_STATE_FAILED' ? results : null, responsesFile };
  }

  /** The batch as the REST API sends it: a long-running Operation. */
  async operation(record: BatchRecord): Promise<Record<string, unknown>> {
    const view = await this.settle(record);
    const final = 'succeeded' in view ? view : null;
    const t = iso(Math.max(record.createdMs, view.endMs ?? record.seenMs));
    const stats: Record<string, string> = { requestCount: String(record.total) };
    const succeeded = final ? final.succeeded : view.processed;
    const failed = final ? final.failed : 0;
    const pending = final ? 0 : record.total - view.processed;
    if (succeeded) stats.successfulRequestCount = String(succeeded);
    if (failed) stats.failedRequestCount = String(failed);
    if (pending) stats.pendingRequestCount = String(pending);
    const output = final?.responsesFile
      ? { responsesFile: final.responsesFile }
      : final?.inlined
        ? { inlinedResponses: { inlinedResponses: final.inlined } }
        : null;
    const metadata: Record<string, unknown> = {
      '@type': 'type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch',
      model: record.model,
      ...(record.displayName !== null ? { displayName: record.displayName } : {}),
      ...(record.inputFile ? { inputConfig: { fileName: record.inputFile } } : {}),
      state: view.state,
      createTime: iso(record.createdMs),
      updateTime: t,
      ...(view.endMs !== null ? { endTime: iso(view.endMs) } : {}),
      batchStats: stats,
      ...(output ? { output } : {}),
      name: `batches/${record.id}`,
    };
    const op: Record<string, unknown> = { name: `batches/${record.id}`, metadata, done: view.endMs !== null };
    if (view.state === 'BATCH_STATE_FAILED') {
      op.error = { code: 3, message: 'Batch failed validation (injected by the sandbox failValidation fault).', status: 'INVALID_ARGUMENT' };
    } else if (view.endMs !== null && output) {
      op.response = { '@type': 'type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput', ...output };
    }
    return op;
  }

  /** The batches that have ended now, with their state (for the webhooks the sandbox sends). */
  ended(): Array<{ record: BatchRecord; state: BatchState }> {
    const t = this.now();
    const out: Array<{ record: BatchRecord; state: BatchState }> = [];
    for (const record of this.batches.values()) {
      const view = record.final ?? this.derive(record, Math.max(t, record.seenMs));
      if (view.endMs !== null) out.push({ record, state: view.state });
    }
    return out;
  }

  countByStatus(): Record<string, number> {
    const counts: Record<string, number> = {};
    const t = this.now();
    for (const record of this.batches.values()) {
      const state = record.final?.state ?? this.derive(record, Math.max(t, record.seenMs)).state;
      counts[state] = (counts[state] ?? 0) + 1;
    }
    return counts;
  }

  async drain(): Promise<void> {
    await Promise.allSettled(this.batches.values().flatMap((r) => (r.finishing ? [r.finishing] : [])));
    for (const session of this.uploads.values()) session.out.destroy();
  }
}
