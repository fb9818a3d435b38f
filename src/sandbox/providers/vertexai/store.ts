/**
 * The batch prediction jobs of one sandbox. A job's state is derived from the clock on every read
 * (`lifecycle.ts`); when a read first finds it ended, its predictions are written to Cloud Storage (`output.ts`) and
 * the view is latched, so later reads agree exactly. Jobs live under a project and location, as their names say:
 * `projects/{project}/locations/{location}/batchPredictionJobs/{id}`, the project as the caller named it (Vertex
 * answers with the project's number, which the sandbox does not have).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { RequestFault } from '../../kernel/faults';
import { advance, finishOnce, RecordBook, type Latched } from '../../kernel/store';
import type { ObjectStorage, Responders } from './dialects';
import { vertexError } from './errors';
import { newNumericId } from './ids';
import { snapshotInput, type InputLimits, type JobError } from './input';
import { derive, ENDED, type JobClock, type JobTiming, type JobView } from './lifecycle';
import type { VertexModel } from './model';
import type { LineContext } from './outcome';
import { outputDirectoryUri, writePredictions } from './output';
import type { GcsUri, JobSpec } from './spec';
import { jobJson } from './wire';

/** Jobs still running a day after creation expire ([inferred]: the sandbox's usual completion window). */
const DEFAULT_EXPIRY_S = 24 * 3600;

export interface VertexJob extends JobClock, Latched<JobView> {
  id: string;
  project: string;
  location: string;
  name: string;
  displayName: string;
  model: VertexModel;
  inputUris: string[];
  outputUriPrefix: string;
  output: GcsUri;
  labels: Record<string, string>;
  /** The job's copy of its input lines. */
  requestsPath: string;
  failedBefore: Uint32Array;
  failure: JobError | null;
  requestFault: RequestFault | null;
}

export interface StoreTiming extends JobTiming {
  validationMs: number;
}

/** The faults in force when a job is created. */
export interface CreateFaults {
  failValidation: boolean;
  expireAfterSeconds: number | undefined;
  requestFault: RequestFault | null;
}

export class VertexJobStore {
  readonly book: RecordBook<VertexJob>;
  readonly counters = { batchesCreated: 0, batchCancels: 0 };
  private readonly jobsDir: string;

  constructor(
    dir: string,
    private readonly tmpDir: string,
    now: () => number,
    private readonly timing: StoreTiming,
    private readonly storage: () => ObjectStorage,
    private readonly responders: Responders,
    private readonly limits: InputLimits,
  ) {
    this.book = new RecordBook(now);
    this.jobsDir = path.join(dir, 'jobs');
  }

  async init(): Promise<void> {
    await fs.mkdir(this.jobsDir, { recursive: true });
  }

  /** Registers a job: its input is read (or found unreadable) now, its lines run after the validation time. */
  async create(spec: JobSpec, project: string, location: string, faults: CreateFaults): Promise<VertexJob> {
    const id = newNumericId((candidate) => this.book.keyOf(candidate) !== undefined);
    const requestsPath = path.join(this.jobsDir, `${id}.jsonl`);
    const ctx: LineContext = { model: spec.model, responders: this.responders, requestFault: faults.requestFault };
    const snapshot = faults.failValidation
      ? { total: 0, failedBefore: Uint32Array.of(0), failure: { code: 3, message: 'Batch prediction job failed validation (injected by the sandbox failValidation fault).' } }
      : await snapshotInput(this.storage(), spec, requestsPath, ctx, this.limits);
    const createdMs = this.book.now();
    const job: VertexJob = {
      id,
      project,
      location,
      name: `projects/${project}/locations/${location}/batchPredictionJobs/${id}`,
      displayName: spec.displayName,
      model: spec.model,
      inputUris: spec.inputUris,
      outputUriPrefix: spec.outputUriPrefix,
      output: spec.output,
      labels: spec.labels,
      requestsPath,
      total: snapshot.total,
      failedBefore: snapshot.failedBefore,
      failure: snapshot.failure,
      fails: snapshot.failure !== null,
      requestFault: faults.requestFault,
      createdMs,
      runMs: createdMs + this.timing.validationMs,
      expiresMs: createdMs + (faults.expireAfterSeconds ?? DEFAULT_EXPIRY_S) * 1000,
      cancelMs: null,
      seenMs: createdMs,
      final: null,
      finishing: null,
    };
    this.book.add(id, job, createdMs);
    this.counters.batchesCreated++;
    return job;
  }

  /** The job `id` under this project and location; another location's job is not found here either. */
  job(project: string, location: string, id: string): VertexJob {
    const name = `projects/${project}/locations/${location}/batchPredictionJobs/${id}`;
    if (!/^\d+$/.test(id)) throw vertexError(400, `Invalid BatchPredictionJob resource name: ${name}.`);
    const job = this.book.get(id);
    if (!job || job.project !== project || job.location !== location) throw vertexError(404, `The BatchPredictionJob ${name} does not exist.`);
    return job;
  }

  /** The view at now (or later), after writing the predictions if the job has ended. */
  async settle(job: VertexJob): Promise<JobView> {
    if (job.finishing) await job.finishing;
    if (job.final) return job.final;
    const view = derive(job, advance(job, this.book.now()), this.timing);
    if (view.endMs === null) return view;
    await finishOnce(job, () => this.finish(job, view));
    return job.final ?? view;
  }

  async json(job: VertexJob): Promise<Record<string, unknown>> {
    const view = await this.settle(job);
    return jobJson({ ...job, model: job.model.name, outputDirectoryUri: outputDirectoryUri(job.output, job.runMs) }, view);
  }

  /** Starts cancelling; a job that has ended cannot be, and a second cancel changes nothing. */
  async cancel(job: VertexJob): Promise<void> {
    const view = await this.settle(job);
    if (ENDED.has(view.state)) throw vertexError(400, `The BatchPredictionJob ${job.name} is in state ${view.state} and cannot be cancelled.`, 'FAILED_PRECONDITION');
    if (job.cancelMs !== null) return;
    job.cancelMs = job.seenMs;
    this.counters.batchCancels++;
  }

  /** Vertex deletes only jobs that have ended ("Can only be called on jobs that already finished"); the output stays. */
  async delete(job: VertexJob): Promise<void> {
    const view = await this.settle(job);
    if (!ENDED.has(view.state)) throw vertexError(400, `The BatchPredictionJob ${job.name} is in state ${view.state}; only a job that has ended can be deleted.`, 'FAILED_PRECONDITION');
    this.book.delete(job.id);
    await fs.rm(job.requestsPath, { force: true });
  }

  countByStatus(): Record<string, number> {
    const counts: Record<string, number> = {};
    const t = this.book.now();
    for (const job of this.book.values()) {
      const state = job.final?.state ?? derive(job, Math.max(t, job.seenMs), this.timing).state;
      counts[state] = (counts[state] ?? 0) + 1;
    }
    return counts;
  }

  async drain(): Promise<void> {
    await Promise.allSettled(this.book.values().flatMap((job) => (job.finishing ? [job.finishing] : [])));
  }

  private async finish(job: VertexJob, view: JobView): Promise<void> {
    if (view.processed > 0) {
      const ctx: LineContext = { model: job.model, responders: this.responders, requestFault: job.requestFault };
      await writePredictions({ id: job.id, requestsPath: job.requestsPath, runMs: job.runMs, rate: this.timing.rate, output: job.output }, view.processed, ctx, this.storage(), this.tmpDir);
    }
    job.final = view;
  }
}
