/**
 * Bedrock's batch inference jobs as a function of the sandbox clock (docs/provider-apis-3.md §1, "Statuses"; their
 * meanings from AWS's `statusEquals` documentation). With v the validation time: `Submitted` for the first third of
 * v, `Validating` for the second (the input is read from S3 when the job is created and judged at its end),
 * `Scheduled` for the last, then `InProgress` at `rate` records a second, then `Completed` (error records included:
 * they are lines of the output, not a status). A stop is `Stopping` for the cancelling time, then `Stopped` with the
 * records answered before the stop written. The timeout (`timeoutDurationInHours`, or the `expireAfterSeconds`
 * fault) ends a job that had not begun as `Expired` ("scheduled but didn't begin before the set timeout duration"),
 * and one that had begun as `PartiallyCompleted` ("Not all of your records could be processed in time"), its answered
 * records written. A read that first finds a job ended writes its outputs (outputs.ts) and latches the view.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { RequestFault } from '../../kernel/faults';
import { advance, finishOnce, RecordBook, type Latched } from '../../kernel/store';
import { bedrockError } from './errors';
import { loadInput, type InputState } from './input';
import type { InvocationType } from './models';
import { writeOutputs } from './outputs';
import type { RecordContext } from './reply';
import { describeS3Error, type JobStorage } from './s3';
import type { JobJson, JobStatus, S3InputConfigJson, S3OutputConfigJson } from './wire';

export const ACCOUNT_ID = '123456789012';

/** What a create asks for, as Bedrock echoes it back. */
export interface JobSpec {
  jobName: string;
  roleArn: string;
  modelId: string;
  invocationType: InvocationType;
  inputDataConfig: S3InputConfigJson;
  outputDataConfig: S3OutputConfigJson;
  clientRequestToken: string | null;
  timeoutDurationInHours: number;
  tags: Array<{ key: string; value: string }>;
  vpcConfig: Record<string, unknown> | null;
}

export interface JobFaults {
  failValidation: boolean;
  models: readonly string[] | undefined;
  expireAfterSeconds: number | undefined;
  requestFault: RequestFault | null;
}

export interface View {
  status: JobStatus;
  /** When the status began: the job's `lastModifiedTime`. */
  sinceMs: number;
  endMs: number | null;
  processed: number;
  message: string | null;
  /** Whether the input passed validation: its records (and their count) are the job's. */
  validated: boolean;
}

interface FinalView extends View {
  endMs: number;
  success: number;
  errors: number;
}

export interface JobRecord extends Latched<FinalView> {
  id: string;
  arn: string;
  spec: JobSpec;
  createdMs: number;
  expiresMs: number;
  stopMs: number | null;
  requestFault: RequestFault | null;
  input: InputState;
  /** Resolves (never rejects) once `input` is no longer loading. */
  loading: Promise<void>;
}

export interface Timing {
  validationMs: number;
  cancellingMs: number;
  rate: number;
}

export interface Quotas {
  minRecords: number;
  maxRecords: number;
  maxBytes: number;
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const JOB_ID = /^(?:arn:aws(?:-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:model-invocation-job\/)?([a-z0-9]{12})$/;

const iso = (ms: number): string => new Date(ms).toISOString();

/** A job id as Bedrock's ARNs end: 12 lowercase alphanumerics (the API reference's jobArn pattern). */
export function newJobId(): string {
  let id = '';
  for (const byte of randomBytes(12)) id += ALNUM[byte % ALNUM.length];
  return id;
}

export class BedrockJobStore {
  readonly book: RecordBook<JobRecord>;
  readonly counters = { filesCreated: 0, batchesCreated: 0, batchCancels: 0 };
  private readonly byToken = new Map<string, JobRecord>();

  constructor(
    now: () => number,
    private readonly timing: Timing,
    private readonly quotas: Quotas,
    private readonly storage: JobStorage,
    private readonly dirs: { jobs: string; tmp: string },
  ) {
    this.book = new RecordBook(now);
  }

  async init(): Promise<void> {
    await fs.mkdir(this.dirs.jobs, { recursive: true });
  }

  now(): number {
    return this.book.now();
  }

  /** The job an earlier create with this `clientRequestToken` made, if any. */
  byClientToken(token: string): JobRecord | undefined {
    return this.byToken.get(token);
  }

  /** Registers the job and starts reading its input. */
  create(spec: JobSpec, region: string, faults: JobFaults): JobRecord {
    const createdMs = this.now();
    let id: string;
    do id = newJobId();
    while (this.book.keyOf(id));
    const job: JobRecord = {
      id,
      arn: `arn:aws:bedrock:${region}:${ACCOUNT_ID}:model-invocation-job/${id}`,
      spec,
      createdMs,
      expiresMs: createdMs + (faults.expireAfterSeconds ?? spec.timeoutDurationInHours * 3600) * 1000,
      stopMs: null,
      requestFault: faults.requestFault,
      input: { state: 'loading' },
      loading: Promise.resolve(),
      seenMs: createdMs,
      final: null,
      finishing: null,
    };
    job.loading = loadInput(this.storage, {
      jobId: id,
      inputUri: spec.inputDataConfig.s3InputDataConfig.s3Uri,
      dir: this.jobDir(job),
      record: recordContext(job),
      requestFault: faults.requestFault,
      ...this.quotas,
      failValidation: faults.failValidation,
      models: faults.models,
    }).then((state) => {
      job.input = state;
    });
    this.book.add(id, job, createdMs);
    if (spec.clientRequestToken !== null) this.byToken.set(spec.clientRequestToken, job);
    this.counters.batchesCreated++;
    return job;
  }

  /** The job a `jobIdentifier` (its ARN, URL-decoded by the router, or its bare id) names. */
  find(identifier: string): JobRecord {
    const id = JOB_ID.exec(identifier)?.[1];
    if (!id) {
      throw bedrockError(
        'ValidationException',
        `1 validation error detected: Value '${identifier}' at 'jobIdentifier' failed to satisfy constraint: Member must satisfy regular expression pattern: ${JOB_ID.source}`,
      );
    }
    const job = this.book.get(id);
    if (!job) throw bedrockError('ResourceNotFoundException', `The specified batch inference job ${identifier} was not found.`);
    return job;
  }

  private jobDir(job: JobRecord): string {
    return path.join(this.dirs.jobs, job.id);
  }

  private phases(job: JobRecord): { submittedUntil: number; validatedAt: number; runMs: number } {
    const v = this.timing.validationMs;
    return { submittedUntil: job.createdMs + v / 3, validatedAt: job.createdMs + (2 * v) / 3, runMs: job.createdMs + v };
  }

  /** The job's state at `t`, from its timings alone (the input's validation outcome once known). */
  derive(job: JobRecord, t: number): View {
    const stop = job.stopMs ?? Infinity;
    const { submittedUntil, validatedAt, runMs } = this.phases(job);
    const stopped = (processed: number, validated: boolean): View => {
      const endMs = stop + this.timing.cancellingMs;
      return t < endMs
        ? { status: 'Stopping', sinceMs: stop, endMs: null, processed, message: null, validated }
        : { status: 'Stopped', sinceMs: endMs, endMs, processed, message: null, validated };
    };
    const expired = (validated: boolean): View => ({ status: 'Expired', sinceMs: job.expiresMs, endMs: job.expiresMs, processed: 0, message: null, validated });
    // Until the input is judged, only a stop or the timeout ends the job, and nothing has run.
    if (t < validatedAt || job.input.state === 'loading' || stop < validatedAt || job.expiresMs <= validatedAt) {
      if (stop <= t && stop <= job.expiresMs) return stopped(0, false);
      if (job.expiresMs <= t) return expired(false);
      if (t < submittedUntil) return { status: 'Submitted', sinceMs: job.createdMs, endMs: null, processed: 0, message: null, validated: false };
      return { status: 'Validating', sinceMs: submittedUntil, endMs: null, processed: 0, message: null, validated: false };
    }
    if (job.input.state === 'invalid') return { status: 'Failed', sinceMs: validatedAt, endMs: validatedAt, processed: 0, message: job.input.message, validated: false };
    const { total } = job.input.input;
    const rate = this.timing.rate;
    const processedAt = (ms: number): number => Math.min(total, Math.max(0, Math.floor(((ms - runMs) * rate) / 1000)));
    const doneMs = runMs + Math.ceil((total * 1000) / rate);
    const first = Math.min(stop, job.expiresMs, doneMs);
    if (t < first) {
      return t < runMs
        ? { status: 'Scheduled', sinceMs: validatedAt, endMs: null, processed: 0, message: null, validated: true }
        : { status: 'InProgress', sinceMs: runMs, endMs: null, processed: processedAt(t), message: null, validated: true };
    }
    if (first === doneMs) return { status: 'Completed', sinceMs: doneMs, endMs: doneMs, processed: total, message: null, validated: true };
    if (first === stop) return stopped(processedAt(stop), true);
    if (job.expiresMs <= runMs) return expired(true);
    return { status: 'PartiallyCompleted', sinceMs: job.expiresMs, endMs: job.expiresMs, processed: processedAt(job.expiresMs), message: null, validated: true };
  }

  /** The view at now (or later), after writing the outputs if the job has ended. */
  async settle(job: JobRecord): Promise<View> {
    if (job.finishing) await job.finishing;
    if (job.final) return job.final;
    const at = advance(job, this.now());
    if (job.input.state === 'loading' && at >= this.phases(job).validatedAt) await job.loading;
    const view = this.derive(job, at);
    if (view.endMs === null) return view;
    await finishOnce(job, () => this.finish(job, view));
    return job.final ?? view;
  }

  /** Starts stopping a job that has not ended; a job already stopping is left as it is. */
  async stop(job: JobRecord): Promise<void> {
    const view = await this.settle(job);
    if (view.endMs !== null) {
      // [inferred] Bedrock documents no error for this; a ValidationException is how its API refuses a request
      // that does not fit the resource's state elsewhere.
      throw bedrockError('ValidationException', `The batch inference job ${job.arn} cannot be stopped because its status is ${view.status}.`);
    }
    if (job.stopMs !== null) return;
    job.stopMs = job.seenMs;
    this.counters.batchCancels++;
  }

  private async finish(job: JobRecord, view: View): Promise<void> {
    await job.loading;
    let status = view.status;
    let message = view.message;
    let errors = 0;
    if (job.input.state === 'valid') {
      const { input } = job.input;
      errors = input.failedBefore[view.processed];
      if (view.processed > 0) {
        try {
          await writeOutputs(this.storage, {
            jobId: job.id,
            outputUri: job.spec.outputDataConfig.s3OutputDataConfig.s3Uri,
            files: input.files,
            processed: view.processed,
            total: input.total,
            record: recordContext(job),
            requestFault: job.requestFault,
            tmpDir: this.dirs.tmp,
          });
        } catch (err) {
          status = 'Failed';
          message = `Unable to write the output to ${job.spec.outputDataConfig.s3OutputDataConfig.s3Uri}: ${describeS3Error(err)}. Check that the S3 URI exists and that the service role can write to it.`;
        }
      }
    }
    job.final = { ...view, endMs: view.endMs as number, status, message, success: view.processed - errors, errors };
    await fs.rm(this.jobDir(job), { recursive: true, force: true });
  }

  /** The job object of `GetModelInvocationJob` (and each summary of `ListModelInvocationJobs`). */
  toJson(job: JobRecord, view: View): JobJson {
    const { spec } = job;
    const final = 'success' in view ? (view as FinalView) : null;
    const total = view.validated && job.input.state === 'valid' ? job.input.input.total : 0;
    const errors = final ? final.errors : job.input.state === 'valid' ? job.input.input.failedBefore[view.processed] : 0;
    return {
      jobArn: job.arn,
      jobName: spec.jobName,
      modelId: spec.modelId,
      roleArn: spec.roleArn,
      ...(spec.clientRequestToken !== null ? { clientRequestToken: spec.clientRequestToken } : {}),
      status: view.status,
      ...(view.message !== null ? { message: view.message } : {}),
      submitTime: iso(job.createdMs),
      lastModifiedTime: iso(view.sinceMs),
      ...(view.endMs !== null ? { endTime: iso(view.endMs) } : {}),
      inputDataConfig: spec.inputDataConfig,
      outputDataConfig: spec.outputDataConfig,
      ...(spec.vpcConfig !== null ? { vpcConfig: spec.vpcConfig } : {}),
      timeoutDurationInHours: spec.timeoutDurationInHours,
      jobExpirationTime: iso(job.expiresMs),
      modelInvocationType: spec.invocationType,
      totalRecordCount: total,
      processedRecordCount: view.processed,
      successRecordCount: final ? final.success : view.processed - errors,
      errorRecordCount: errors,
    };
  }

  countByStatus(): Record<string, number> {
    const t = this.now();
    const counts: Record<string, number> = {};
    for (const job of this.book.values()) {
      const status = job.final?.status ?? this.derive(job, Math.max(t, job.seenMs)).status;
      counts[status] = (counts[status] ?? 0) + 1;
    }
    return counts;
  }

  async drain(): Promise<void> {
    const jobs = this.book.values();
    await Promise.allSettled(jobs.map((job) => job.loading));
    await Promise.allSettled(jobs.flatMap((job) => (job.finishing ? [job.finishing] : [])));
    this.storage.close();
  }
}

export function recordContext(job: JobRecord): RecordContext {
  return { modelId: job.spec.modelId, invocationType: job.spec.invocationType };
}
