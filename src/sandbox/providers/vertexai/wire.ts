/**
 * Vertex's JSON for a BatchPredictionJob and for the long-running operation a delete answers with, as the REST API
 * sends them (fields @google/genai's `batchJobFromVertex` reads: name, displayName, state, error, createTime,
 * startTime, endTime, updateTime, model, inputConfig, outputConfig, outputInfo, completionStats; plus labels).
 * Proto3 JSON: int64 counts as strings and fields at their default (0, empty) left out, so a reader must take a
 * missing count as 0; `incompleteCount` is "-1" when a job failed before its lines were known, as the API documents.
 */
import type { JobError } from './input';
import { ENDED, lastChangeMs, type JobClock, type JobView } from './lifecycle';

const iso = (ms: number): string => new Date(ms).toISOString();

export interface JobRecordView extends JobClock {
  name: string;
  displayName: string;
  model: string;
  inputUris: string[];
  outputUriPrefix: string;
  labels: Record<string, string>;
  failure: JobError | null;
  failedBefore: Uint32Array;
  /** `gs://...` of the output directory. */
  outputDirectoryUri: string;
}

/** Non-zero counts only, as strings. */
function counts(entries: Record<string, number>): Record<string, string> {
  return Object.fromEntries(Object.entries(entries).filter(([, n]) => n !== 0).map(([k, n]) => [k, String(n)]));
}

function completionStats(job: JobRecordView, view: JobView): Record<string, string> | null {
  if (job.fails) return view.state === 'JOB_STATE_FAILED' ? { incompleteCount: '-1' } : null;
  if (view.startMs === null && !ENDED.has(view.state)) return null;
  const failed = job.failedBefore[view.processed];
  return counts({ successfulCount: view.processed - failed, failedCount: failed, incompleteCount: job.total - view.processed });
}

/**
 * The output directory is named once lines start to run (Vertex exports predictions as they complete); the sandbox
 * writes `predictions.jsonl` into it when the job ends, and a job that ended with no line answered has none.
 */
function hasOutput(view: JobView): boolean {
  return view.startMs !== null && (!ENDED.has(view.state) || view.processed > 0);
}

export function jobJson(job: JobRecordView, view: JobView): Record<string, unknown> {
  const stats = completionStats(job, view);
  return {
    name: job.name,
    displayName: job.displayName,
    model: job.model,
    inputConfig: { instancesFormat: 'jsonl', gcsSource: { uris: job.inputUris } },
    outputConfig: { predictionsFormat: 'jsonl', gcsDestination: { outputUriPrefix: job.outputUriPrefix } },
    state: view.state,
    ...(view.state === 'JOB_STATE_FAILED' && job.failure ? { error: job.failure } : {}),
    ...(hasOutput(view) ? { outputInfo: { gcsOutputDirectory: job.outputDirectoryUri } } : {}),
    ...(stats ? { completionStats: stats } : {}),
    createTime: iso(job.createdMs),
    ...(view.startMs !== null ? { startTime: iso(view.startMs) } : {}),
    ...(view.endMs !== null ? { endTime: iso(view.endMs) } : {}),
    updateTime: iso(lastChangeMs(job, view)),
    ...(Object.keys(job.labels).length > 0 ? { labels: job.labels } : {}),
  };
}

/** A delete's answer: the operation, done at once (the job and its copy of the input are gone when it returns). */
export function deleteOperationJson(operationName: string, apiVersion: string, atMs: number): Record<string, unknown> {
  return {
    name: operationName,
    metadata: {
      '@type': `type.googleapis.com/google.cloud.aiplatform.${apiVersion}.DeleteOperationMetadata`,
      genericMetadata: { createTime: iso(atMs), updateTime: iso(atMs) },
    },
    done: true,
    response: { '@type': 'type.googleapis.com/google.protobuf.Empty' },
  };
}
