/**
 * Mistral's jobs and files over the OpenAI emulation's stores (the state machine, the stand-in model's replies,
 * result files, faults): a job's input files are rewritten once, at create, as OpenAI lines (`url` from the job's
 * endpoint, the job's model in each body) and run as one OpenAI batch; every read shows it as Mistral's job.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { readInputLines } from '../../kernel/jsonl';
import { badRequest, isPlainObject, notFound } from '../../kernel/http';
import { RecordBook } from '../../kernel/store';
import type { BatchStore } from '../openai/batches';
import type { FileStore, StoredFile } from '../openai/files';
import type { BatchJson, BatchStatus } from '../openai/wire';
import type { BatchJobJson, JobStatus, MistralFileJson, SampleType } from './wire';

const STATUS: Record<BatchStatus, JobStatus> = {
  validating: 'QUEUED',
  queued: 'QUEUED',
  in_progress: 'RUNNING',
  finalizing: 'RUNNING',
  completed: 'SUCCESS',
  failed: 'FAILED',
  expired: 'TIMEOUT_EXCEEDED',
  cancelling: 'CANCELLATION_REQUESTED',
  cancelled: 'CANCELLED',
};

export interface JobRecord {
  id: string;
  batchId: string;
  inputFiles: string[];
  model: string | null;
  metadata: Record<string, string> | null;
  endpoint: string;
  createdMs: number;
}

export interface NewJob {
  inputFiles: StoredFile[];
  /** Inline requests, instead of (or besides) input files. */
  requests: unknown[];
  endpoint: string;
  model: string | null;
  metadata: Record<string, string> | null;
  timeoutHours: number;
}

export interface JobFilter {
  status: string[];
  model: string | null;
  createdAfterMs: number | null;
  metadata: Record<string, string>;
}

export class MistralStore {
  readonly jobs: RecordBook<JobRecord>;

  constructor(
    readonly files: FileStore,
    readonly batches: BatchStore,
    private readonly tmpDir: string,
    now: () => number,
  ) {
    this.jobs = new RecordBook(now);
  }

  /** What Mistral calls the file: uploads are `batch_request`, a job's results `batch_result` / `batch_error`. */
  fileJson(file: StoredFile): MistralFileJson {
    const sampleType: SampleType = file.purpose === 'batch_output' ? (file.filename.endsWith('_error.jsonl') ? 'batch_error' : 'batch_result') : 'batch_request';
    return {
      id: file.id,
      object: 'file',
      bytes: file.bytes,
      created_at: Math.floor(file.createdMs / 1000),
      filename: file.filename,
      purpose: 'batch',
      sample_type: sampleType,
      num_lines: null,
      mimetype: 'application/jsonl',
      source: file.purpose === 'batch_output' ? 'mistral' : 'upload',
      signature: null,
      expires_at: file.expiresAt,
      visibility: 'workspace',
    };
  }

  async create(job: NewJob, faults: { failValidation?: boolean; expireAfterSeconds?: number; models?: string[] }): Promise<BatchJobJson> {
    const id = randomUUID();
    const tmp = path.join(this.tmpDir, `mistral-${id}.jsonl`);
    const bytes = await writeOpenAILines(tmp, job);
    try {
      const inputFile: StoredFile = { id: job.inputFiles[0]?.id ?? id, bytes, createdMs: this.jobs.now(), expiresAt: null, filename: `${id}.jsonl`, purpose: 'batch', path: tmp };
      const windowSeconds = job.timeoutHours * 3600;
      const batch = await this.batches.create(
        { inputFile, endpoint: job.endpoint, completionWindow: `${job.timeoutHours}h`, windowSeconds, metadata: null, outputExpiresAfterSeconds: null },
        faults,
      );
      const record: JobRecord = {
        id,
        batchId: batch.id,
        inputFiles: job.inputFiles.map((f) => f.id),
        model: job.model,
        metadata: job.metadata,
        endpoint: job.endpoint,
        createdMs: batch.created_at * 1000,
      };
      this.jobs.add(id, record, this.jobs.now());
      return this.toJson(record, batch);
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  require(id: string): JobRecord {
    const record = this.jobs.get(id);
    if (!record) throw notFound(`Batch job ${id} not found`, 'job_id');
    return record;
  }

  async retrieve(id: string): Promise<BatchJobJson> {
    const record = this.require(id);
    return this.toJson(record, await this.batches.retrieve(record.batchId));
  }

  async cancel(id: string): Promise<BatchJobJson> {
    const record = this.require(id);
    const current = await this.batches.retrieve(record.batchId);
    if (['completed', 'failed', 'expired', 'cancelled'].includes(current.status)) {
      throw badRequest(`Batch job ${id} is already ${STATUS[current.status]} and cannot be cancelled.`, 'job_id');
    }
    const { batch } = await this.batches.cancel(record.batchId);
    return this.toJson(record, batch);
  }

  /** Newest first (`-created`, the default) or oldest first (`created`), filtered, then paged. */
  async list(filter: JobFilter, order: 'created' | '-created', page: number, pageSize: number): Promise<{ data: BatchJobJson[]; object: 'list'; total: number }> {
    const all = this.jobs.values();
    const jobs = await Promise.all(all.map(async (r) => this.toJson(r, await this.batches.retrieve(r.batchId))));
    const matching = jobs.filter(
      (j) =>
        (filter.status.length === 0 || filter.status.includes(j.status)) &&
        (filter.model === null || j.model === filter.model) &&
        (filter.createdAfterMs === null || j.created_at * 1000 >= filter.createdAfterMs) &&
        Object.entries(filter.metadata).every(([k, v]) => j.metadata?.[k] === v),
    );
    if (order === '-created') matching.reverse();
    return { data: matching.slice(page * pageSize, (page + 1) * pageSize), object: 'list', total: matching.length };
  }

  private toJson(record: JobRecord, batch: BatchJson): BatchJobJson {
    const counts = batch.request_counts;
    const ended = batch.completed_at ?? batch.failed_at ?? batch.expired_at ?? batch.cancelled_at ?? null;
    return {
      id: record.id,
      object: 'batch',
      input_files: record.inputFiles,
      metadata: record.metadata,
      endpoint: record.endpoint,
      model: record.model ?? batch.model ?? null,
      agent_id: null,
      output_file: batch.output_file_id,
      error_file: batch.error_file_id,
      errors: (batch.errors?.data ?? []).map((e) => ({ message: e.line ? `Line ${e.line}: ${e.message}` : e.message, count: 1 })),
      outputs: null,
      status: STATUS[batch.status],
      created_at: Math.floor(record.createdMs / 1000),
      total_requests: counts.total,
      completed_requests: counts.completed + counts.failed,
      succeeded_requests: counts.completed,
      failed_requests: counts.failed,
      started_at: batch.in_progress_at,
      completed_at: ended,
    };
  }
}

/** The job's requests as OpenAI lines: the endpoint as `url`, the job's model (else the line's) in the body. */
async function writeOpenAILines(target: string, job: NewJob): Promise<number> {
  const out = createWriteStream(target);
  let bytes = 0;
  let index = 0;
  const write = async (text: string): Promise<void> => {
    bytes += Buffer.byteLength(text) + 1;
    if (!out.write(text + '\n')) await once(out, 'drain');
  };
  const convert = (parsed: unknown, raw: string): string => {
    const n = index++;
    if (!isPlainObject(parsed) || !isPlainObject(parsed.body)) return raw; // the input check reports it
    const body = job.model ? { ...parsed.body, model: job.model } : parsed.body;
    const customId = parsed.custom_id === undefined ? String(n) : parsed.custom_id;
    return JSON.stringify({ custom_id: customId, method: 'POST', url: job.endpoint, body });
  };
  try {
    for (const file of job.inputFiles) {
      for await (const { text } of readInputLines(file.path)) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          await write(text);
          continue;
        }
        await write(convert(parsed, text));
      }
    }
    for (const request of job.requests) await write(convert(request, JSON.stringify(request)));
  } finally {
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
  return bytes;
}
