/**
 * Together's files and batch jobs over the OpenAI emulation's batch store (the state machine, the stand-in
 * model's replies, result files, faults). An upload is a file reserved by `POST /files` and filled by the PUT to
 * its upload URL. A job's input (`{custom_id, body}` lines) is rewritten once, at create, as OpenAI lines and run
 * as one OpenAI batch; every read shows it as Together's job (uppercase status, `progress`, no counts). Once that
 * batch ends, its output and error files are rewritten once as Together's result lines and become the job's
 * files. A job whose input breaks a rule only Together has (a custom_id over 64 characters) never runs: it
 * validates, then fails with the lines named.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { isPlainObject } from '../../kernel/http';
import { readInputLines } from '../../kernel/jsonl';
import { RecordBook } from '../../kernel/store';
import type { BatchStore } from '../openai/batches';
import type { FileStore, StoredFile } from '../openai/files';
import type { BatchJson, BatchStatus } from '../openai/wire';
import { togetherError } from './errors';
import { MAX_CUSTOM_ID_LENGTH, type JobStatus, type TogetherFileJson, type TogetherJobJson, type TogetherResultLineJson } from './wire';

const DAY_S = 24 * 3600;
/** How many line errors a failed job's `error` names. */
const ERRORS_NAMED = 5;

const STATUS: Record<BatchStatus, JobStatus> = {
  validating: 'VALIDATING',
  queued: 'IN_PROGRESS',
  in_progress: 'IN_PROGRESS',
  finalizing: 'IN_PROGRESS',
  // Together has no cancelling status: the job runs on until it is CANCELLED.
  cancelling: 'IN_PROGRESS',
  completed: 'COMPLETED',
  failed: 'FAILED',
  expired: 'EXPIRED',
  cancelled: 'CANCELLED',
};

const TERMINAL: readonly BatchStatus[] = ['completed', 'failed', 'expired', 'cancelled'];

export interface TogetherFile {
  id: string;
  filename: string;
  purpose: string;
  fileType: string;
  createdMs: number;
  bytes: number;
  /** Where the bytes are; null while the upload URL has not been PUT. */
  path: string | null;
}

interface JobResults {
  outputFileId: string | null;
  errorFileId: string | null;
  /** Requests that ran (a line in either file), for the final `progress`. */
  ran: number;
}

export interface JobRecord {
  id: string;
  inputFileId: string;
  fileSizeBytes: number;
  endpoint: string;
  modelId: string | null;
  createdMs: number;
  /** `job_deadline`: the completion window (or the expireAfterSeconds fault) after creation. */
  deadlineMs: number;
  /** The OpenAI batch that runs the job; null for a job refused at validation. */
  batchId: string | null;
  /** Why a job refused at validation fails (it never runs). */
  rejection: string | null;
  /** When a refused job was cancelled while it still validated. */
  cancelMs: number | null;
  results: JobResults | null;
  converting: Promise<void> | null;
}

export interface NewJob {
  inputFile: TogetherFile & { path: string };
  endpoint: string;
  modelId: string | null;
}

export interface CreateFaults {
  failValidation?: boolean;
  expireAfterSeconds?: number;
  models?: string[];
}

/** Whole seconds, as Together writes its times (`2024-01-15T14:30:00Z`). */
const iso = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

export class TogetherStore {
  readonly files: RecordBook<TogetherFile>;
  readonly jobs: RecordBook<JobRecord>;
  private readonly secret = randomBytes(32);

  constructor(
    private readonly dir: string,
    /** Where the OpenAI batches write their result files before they are rewritten as Together's. */
    private readonly internalFiles: FileStore,
    readonly batches: BatchStore,
    private readonly tmpDir: string,
    private readonly validationMs: number,
    readonly now: () => number,
  ) {
    this.files = new RecordBook(now);
    this.jobs = new RecordBook(now);
  }

  async init(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
  }

  // ---- files ----

  /** The signature of a file's upload URL (an HMAC of its id with this sandbox's secret). */
  signature(fileId: string): string {
    return createHmac('sha256', this.secret).update(fileId).digest('hex');
  }

  /** Reserves a file for an upload to come (`POST /files`). */
  reserve(filename: string, purpose: string, fileType: string): TogetherFile {
    const file: TogetherFile = { id: `file-${randomUUID()}`, filename, purpose, fileType, createdMs: this.now(), bytes: 0, path: null };
    this.files.add(file.id, file, file.createdMs);
    return file;
  }

  /** Moves an uploaded file (already on disk at `sourcePath`) into the store as `file`'s bytes. */
  async fill(file: TogetherFile, sourcePath: string, bytes: number): Promise<void> {
    const target = path.join(this.dir, file.id);
    await fs.rename(sourcePath, target);
    file.path = target;
    file.bytes = bytes;
  }

  /** A file whose bytes are there; a reserved file not yet uploaded is not found, like an unknown one. */
  requireFile(id: string, param: string | null = 'id'): TogetherFile & { path: string } {
    const file = this.files.get(id);
    if (!file || file.path === null) throw togetherError(404, `File ${id} not found.`, 'file_not_found', param);
    return file as TogetherFile & { path: string };
  }

  async deleteFile(id: string): Promise<void> {
    const file = this.requireFile(id);
    this.files.delete(id);
    await fs.rm(file.path, { force: true });
  }

  fileJson(file: TogetherFile): TogetherFileJson {
    return {
      id: file.id,
      object: 'file',
      bytes: file.bytes,
      created_at: Math.floor(file.createdMs / 1000),
      filename: file.filename,
      purpose: file.purpose,
      FileType: file.fileType,
      Processed: file.path !== null,
    };
  }

  /** Uploaded files, newest first. */
  listFiles(): TogetherFileJson[] {
    return this.files
      .entries()
      .filter((e) => e.value.path !== null)
      .sort((a, b) => b.key.createdMs - a.key.createdMs || b.key.seq - a.key.seq)
      .map((e) => this.fileJson(e.value));
  }

  // ---- jobs ----

  async create(job: NewJob, faults: CreateFaults): Promise<JobRecord> {
    const id = randomUUID();
    const tmp = path.join(this.tmpDir, `together-${id}.jsonl`);
    try {
      const { bytes, rejected, model } = await writeOpenAILines(tmp, job);
      const modelId = job.modelId ?? model;
      const createdMs = this.now();
      const record: JobRecord = {
        id,
        inputFileId: job.inputFile.id,
        fileSizeBytes: job.inputFile.bytes,
        endpoint: job.endpoint,
        modelId,
        createdMs,
        deadlineMs: createdMs + (faults.expireAfterSeconds ?? DAY_S) * 1000,
        batchId: null,
        rejection: null,
        cancelMs: null,
        results: null,
        converting: null,
      };
      if (rejected.length > 0) {
        record.rejection = describeErrors(rejected.map((r) => ({ line: r.line, message: r.message })), rejected.length);
      } else {
        const inputFile: StoredFile = { id: job.inputFile.id, bytes, createdMs: record.createdMs, expiresAt: null, filename: `${id}.jsonl`, purpose: 'batch', path: tmp };
        const batch = await this.batches.create(
          { inputFile, endpoint: job.endpoint, completionWindow: '24h', windowSeconds: DAY_S, metadata: null, outputExpiresAfterSeconds: null },
          faults,
        );
        record.batchId = batch.id;
      }
      this.jobs.add(id, record, record.createdMs);
      return record;
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  requireJob(id: string): JobRecord {
    const record = this.jobs.get(id);
    if (!record) throw togetherError(404, `Batch job ${id} not found.`, 'batch_not_found', 'id');
    return record;
  }

  async jobJson(record: JobRecord): Promise<TogetherJobJson> {
    if (record.batchId === null) return this.rejectedJson(record, this.now());
    const batch = await this.batches.retrieve(record.batchId);
    if (TERMINAL.includes(batch.status)) await this.convertOnce(record, batch);
    return this.toJson(record, batch);
  }

  /** Starts cancelling a job that still validates or runs; `changed` is false when nothing changed. */
  async cancel(id: string): Promise<{ job: TogetherJobJson; changed: boolean }> {
    const record = this.requireJob(id);
    if (record.batchId === null) {
      const current = this.rejectedJson(record, this.now());
      if (current.status !== 'VALIDATING') throw togetherError(400, `Batch job ${id} is already ${current.status} and cannot be cancelled.`, 'invalid_state');
      record.cancelMs = this.now();
      return { job: this.rejectedJson(record, record.cancelMs), changed: true };
    }
    const current = await this.batches.retrieve(record.batchId);
    if (TERMINAL.includes(current.status)) throw togetherError(400, `Batch job ${id} is already ${STATUS[current.status]} and cannot be cancelled.`, 'invalid_state');
    const { batch, changed } = await this.batches.cancel(record.batchId);
    return { job: this.toJson(record, batch), changed };
  }

  /** Every job, newest first. */
  async listJobs(): Promise<TogetherJobJson[]> {
    const entries = this.jobs.entries().sort((a, b) => b.key.createdMs - a.key.createdMs || b.key.seq - a.key.seq);
    return Promise.all(entries.map((e) => this.jobJson(e.value)));
  }

  /** Jobs by Together status, without waiting on anything (a job whose results are being written counts as running). */
  countByStatus(): Record<string, number> {
    const counts: Record<string, number> = {};
    const openai = this.batches.countByStatus();
    for (const [status, n] of Object.entries(openai)) {
      const name = STATUS[status as BatchStatus];
      counts[name] = (counts[name] ?? 0) + n;
    }
    const t = this.now();
    for (const record of this.jobs.values()) {
      if (record.batchId !== null) continue;
      const status = this.rejectedJson(record, t).status;
      counts[status] = (counts[status] ?? 0) + 1;
    }
    return counts;
  }

  async drain(): Promise<void> {
    await this.batches.drain();
    await Promise.allSettled(this.jobs.values().flatMap((r) => (r.converting ? [r.converting] : [])));
  }

  private rejectedJson(record: JobRecord, t: number): TogetherJobJson {
    const validatedMs = record.createdMs + this.validationMs;
    const base = this.baseJson(record);
    if (record.cancelMs !== null) return { ...base, status: 'CANCELLED', progress: 0, completed_at: iso(record.cancelMs) };
    if (t < validatedMs) return { ...base, status: 'VALIDATING', progress: 0 };
    return { ...base, status: 'FAILED', progress: 0, error: record.rejection ?? 'Batch validation failed.', completed_at: iso(validatedMs) };
  }

  private baseJson(record: JobRecord): Omit<TogetherJobJson, 'status' | 'progress'> {
    return {
      id: record.id,
      user_id: 'user_sandbox',
      input_file_id: record.inputFileId,
      file_size_bytes: record.fileSizeBytes,
      job_deadline: iso(record.deadlineMs),
      created_at: iso(record.createdMs),
      endpoint: record.endpoint,
      ...(record.modelId ? { model_id: record.modelId } : {}),
    };
  }

  private toJson(record: JobRecord, batch: BatchJson): TogetherJobJson {
    const status = STATUS[batch.status];
    const counts = batch.request_counts;
    const ended = batch.completed_at ?? batch.failed_at ?? batch.expired_at ?? batch.cancelled_at ?? null;
    const model = record.modelId ?? batch.model;
    const out: TogetherJobJson = {
      ...this.baseJson(record),
      ...(model ? { model_id: model } : {}),
      status,
      progress: 0,
    };
    const total = counts.total;
    if (status === 'COMPLETED') out.progress = 100;
    else if (status === 'IN_PROGRESS') out.progress = total > 0 ? percent(counts.completed + counts.failed, total) : 0;
    else if ((status === 'EXPIRED' || status === 'CANCELLED') && record.results) out.progress = total > 0 ? percent(record.results.ran, total) : 0;
    if (status === 'FAILED') out.error = describeErrors(batch.errors?.data ?? [], batch.errors?.data.length ?? 0);
    if (ended !== null && TERMINAL.includes(batch.status)) out.completed_at = iso(ended * 1000);
    if (record.results?.outputFileId) out.output_file_id = record.results.outputFileId;
    if (record.results?.errorFileId) out.error_file_id = record.results.errorFileId;
    return out;
  }

  /** Rewrites the ended batch's result files as Together's, once; concurrent reads wait for the same run. */
  private async convertOnce(record: JobRecord, batch: BatchJson): Promise<void> {
    if (record.results) return;
    record.converting ??= this.convert(record, batch).catch((err: unknown) => {
      record.converting = null;
      throw err;
    });
    await record.converting;
  }

  private async convert(record: JobRecord, batch: BatchJson): Promise<void> {
    const sources = { output: batch.output_file_id, error: batch.error_file_id };
    const written: Partial<Record<'output' | 'error', { tmp: string; bytes: number; lines: number }>> = {};
    try {
      for (const kind of ['output', 'error'] as const) {
        const internalId = sources[kind];
        if (internalId === null) continue;
        const tmp = path.join(this.tmpDir, `together-${record.id}-${kind}.jsonl`);
        written[kind] = { tmp, ...(await rewriteResults(this.internalFiles.require(internalId).path, tmp)) };
      }
    } catch (err) {
      await Promise.all(Object.values(written).map((w) => fs.rm(w.tmp, { force: true })));
      throw err;
    }
    const store = async (kind: 'output' | 'error'): Promise<string | null> => {
      const w = written[kind];
      if (!w) return null;
      if (w.lines === 0) {
        await fs.rm(w.tmp, { force: true });
        return null;
      }
      const file = this.reserve(`${record.id}_${kind}.jsonl`, 'batch-api', 'jsonl');
      await this.fill(file, w.tmp, w.bytes);
      return file.id;
    };
    const outputFileId = await store('output');
    const errorFileId = await store('error');
    for (const internalId of Object.values(sources)) if (internalId !== null) await this.internalFiles.delete(internalId);
    record.results = { outputFileId, errorFileId, ran: (written.output?.lines ?? 0) + (written.error?.lines ?? 0) };
  }
}

function percent(done: number, total: number): number {
  return Math.min(100, Math.floor((done * 100) / total));
}

/** A failed job's `error`: its first line errors, and how many more there are. */
function describeErrors(errors: Array<{ line: number | null; message: string }>, total: number): string {
  const named = errors.slice(0, ERRORS_NAMED).map((e) => (e.line ? `Line ${e.line}: ${e.message}` : e.message));
  const more = total - named.length;
  return `${named.join('; ')}${more > 0 ? ` (and ${more} more)` : ''}` || 'Batch validation failed.';
}

interface Rejected {
  line: number;
  message: string;
}

/**
 * The job's `{custom_id, body}` lines as OpenAI lines (the job's endpoint as `url`, the job's `model_id` where a
 * body names none). Lines break Together's own rules (a custom_id over 64 characters) are collected as rejections;
 * anything else wrong is left for the OpenAI input check to report (a line that is not JSON is copied as it is).
 */
async function writeOpenAILines(target: string, job: NewJob): Promise<{ bytes: number; rejected: Rejected[]; model: string | null }> {
  const out = createWriteStream(target);
  let bytes = 0;
  let model: string | null = null;
  const rejected: Rejected[] = [];
  const write = async (text: string): Promise<void> => {
    bytes += Buffer.byteLength(text) + 1;
    if (!out.write(text + '\n')) await once(out, 'drain');
  };
  try {
    for await (const { line, text } of readInputLines(job.inputFile.path)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        await write(text);
        continue;
      }
      if (!isPlainObject(parsed)) {
        await write(text);
        continue;
      }
      const customId = parsed.custom_id;
      if (typeof customId === 'string' && [...customId].length > MAX_CUSTOM_ID_LENGTH) {
        rejected.push({ line, message: `custom_id is ${[...customId].length} characters, more than the maximum of ${MAX_CUSTOM_ID_LENGTH}.` });
        continue;
      }
      let body = parsed.body;
      if (isPlainObject(body)) {
        if (job.modelId && typeof body.model !== 'string') body = { ...body, model: job.modelId };
        if (model === null && typeof (body as Record<string, unknown>).model === 'string') model = (body as Record<string, unknown>).model as string;
      }
      await write(JSON.stringify({ custom_id: customId, method: 'POST', url: job.endpoint, body }));
    }
  } finally {
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
  return { bytes, rejected, model };
}

/**
 * An OpenAI output or error file's lines as Together's: `{custom_id, response: {status_code, request_id, body},
 * error}`, the error being the response's own for a failed request. Lines of requests that never ran (OpenAI's
 * `batch_cancelled` / `batch_expired`, with no response) are left out: Together's error file lists requests that
 * failed. Streamed, line by line.
 */
async function rewriteResults(source: string, target: string): Promise<{ bytes: number; lines: number }> {
  const out = createWriteStream(target);
  let bytes = 0;
  let lines = 0;
  try {
    for await (const { text } of readInputLines(source)) {
      const line = JSON.parse(text) as { custom_id: string; response: TogetherResultLineJson['response']; error: unknown };
      if (line.response === null) continue;
      const ok = line.response.status_code >= 200 && line.response.status_code < 300;
      const inner = isPlainObject(line.response.body) && isPlainObject(line.response.body.error) ? line.response.body.error : null;
      const converted: TogetherResultLineJson = {
        custom_id: line.custom_id,
        response: line.response,
        error: ok
          ? null
          : {
              message: typeof inner?.message === 'string' ? inner.message : `Request failed with status ${line.response.status_code}.`,
              type: typeof inner?.type === 'string' ? inner.type : null,
              code: typeof inner?.code === 'string' ? inner.code : null,
            },
      };
      const textOut = JSON.stringify(converted) + '\n';
      bytes += Buffer.byteLength(textOut);
      lines++;
      if (!out.write(textOut)) await once(out, 'drain');
    }
  } finally {
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
  return { bytes, lines };
}
