/**
 * `recoverBatch()` / `anybatch recover ID`: reads what a finished batch's given-up parts produced at the provider
 * since, and rewrites its result files (src/contract/recovery.ts says what is kept and how each request stays in
 * exactly one line). It runs as a small workflow on the batch's task queue, on the worker that holds the store and
 * the provider credentials; run it again as often as needed.
 */
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy, defaultPayloadConverter } from '@temporalio/common';
import type { Payload } from '@temporalio/common';
import type { AnybatchBatch } from '../contract/batch';
import { isTerminal } from '../contract/batch';
import { BATCH_WORKFLOW_TYPE } from '../contract/messages';
import type { BatchJobInput } from '../contract/part';
import { RECOVER_WORKFLOW_TYPE, recoveryWorkflowId } from '../contract/recovery';
import type { RecoverJobInput, RecoveryReport } from '../contract/recovery';
import type { BatchSpec } from '../contract/spec';
import { UsageError } from '../errors';
import type { ClientOptions } from '../options';
import { seal } from '../secrets';
import { temporalClient } from '../temporal/client';
import { loadBatch, withRecoveryReport } from './read';

export interface RecoverBatchOptions extends ClientOptions {
  /** A key to read the provider batches with instead of the batch's own (after a key rotation, say). */
  apiKey?: string;
  /** A base URL to read them at instead of the batch's own. */
  apiBase?: string;
}

/** The part of a workflow's history the spec is read from: its first event. */
interface StartedHistory {
  events?: Array<{ workflowExecutionStartedEventAttributes?: { input?: { payloads?: Array<Payload> | null } | null } | null }> | null;
}

/** The batch's spec, as its latest run was started with it (every run carries the same spec). */
function specOf(history: StartedHistory, batchId: string): BatchSpec {
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  const input = payload ? defaultPayloadConverter.fromPayload<BatchJobInput>(payload) : undefined;
  if (!input?.spec || input.spec.batchId !== batchId) throw new Error(`the workflow of batch ${batchId} has no readable input: it cannot be recovered`);
  return input.spec;
}

/**
 * Recovers the given-up parts of a finished batch and returns the batch as it stands after (its counts, its result
 * files, `anybatch.recovery`: what happened to each part; `anybatch.recoverable`: parts left, e.g. still running at
 * the provider). A batch with nothing left to recover is returned unchanged. A running batch is a `UsageError`.
 */
export async function recoverBatch(batchId: string, options: RecoverBatchOptions = {}): Promise<AnybatchBatch> {
  const batch = await loadBatch(batchId, options);
  if (!isTerminal(batch.status)) {
    throw new UsageError(`Batch ${batchId} is ${batch.status}: a batch is recovered once it has ended (wait for it, or cancel it first).`);
  }
  if (!batch.anybatch.recoverable) return batch;
  const client = await temporalClient(options.temporal);
  const handle = client.workflow.getHandle(batchId);
  const description = await handle.describe();
  if (description.type !== BATCH_WORKFLOW_TYPE) {
    throw new UsageError(`Batch ${batchId} ran on the workflow ${description.type}, which records no given-up parts: only ${BATCH_WORKFLOW_TYPE} batches can be recovered.`);
  }
  const spec = await specOf(await handle.fetchHistory(), batchId);
  const apiBase = options.apiBase ?? spec.connection.apiBase;
  if (options.apiKey === undefined && apiBase !== spec.connection.apiBase && spec.connection.sealed !== null) {
    throw new UsageError(`Batch ${batchId}'s own credentials are bound to its base URL (${spec.connection.apiBase ?? "the provider's default"}): give an apiKey to read it at ${apiBase}.`);
  }
  // A new key is sealed for this batch and base URL, as createBatch seals a batch's own (src/secrets.ts).
  const sealed = options.apiKey !== undefined ? seal({ apiKey: options.apiKey }, { batchId, provider: spec.provider, apiBase }) : spec.connection.sealed;
  const connection = { apiBase, sealed };
  const recovery = await client.workflow.start(RECOVER_WORKFLOW_TYPE, {
    workflowId: recoveryWorkflowId(batchId),
    taskQueue: description.taskQueue,
    args: [{ batchId, spec: { ...spec, connection } } satisfies RecoverJobInput],
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
  });
  const report = (await recovery.result()) as RecoveryReport;
  const before = await loadBatch(batchId, { ...options });
  return withRecoveryReport({ ...before, anybatch: { ...before.anybatch, recoverable: batch.anybatch.recoverable } }, report);
}
