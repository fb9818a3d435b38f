/**
 * Whether a batch id chosen by the caller (`createBatch`'s `batchId`) may be used now. The rule: an id names one batch
 * until that batch is deleted (`anybatch delete ID`, `deleteBatch`), which removes its data but keeps its record in
 * Temporal (until the namespace's retention). So, for the id:
 * - a running workflow: refused (cancel it, then delete it);
 * - a closed one: refused while any of its data is left: staged inputs (of any run, or the flat layout) or results in
 *   the store, or result files in the caller's own results folder its record names; once they are gone (deleted; or
 *   expired by a bucket lifecycle rule) the id may be used again;
 * - no workflow: free, unless data of the id is in the store (a batch whose record Temporal no longer keeps):
 *   refused, naming what is there.
 * A new run of an id always stages into a new run folder (src/storage/layout.ts), with its own work folders: nothing of
 * an earlier run (its run nonces, create markers, a worker's scratch copy) is ever read for it, so no provider object
 * of an earlier run is adopted.
 *
 * The answer says how to start the workflow: `REJECT_DUPLICATE` when no workflow had the id (one that appeared and
 * closed meanwhile is refused too), `ALLOW_DUPLICATE` when a closed, deleted one had it; the conflict policy is `FAIL`
 * either way (a running workflow is never joined or terminated). A start that still meets one (a concurrent
 * `createBatch` of the same id) is refused by Temporal, and `createBatch` removes only its own run folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { UsageError } from '../errors';
import { anyDataOf } from '../storage/batch-data';
import { namesFlatInput } from '../storage/layout';
import type { BlobStore } from '../storage/types';
import { fromMemo } from './read';

function deleteFirst(batchId: string): string {
  return `Delete it first (anybatch delete ${batchId}, or deleteBatch) to use the id again, or choose another id.`;
}

/** Refuses a chosen id that is not free (see the header); returns the reuse policy to start its workflow with. */
export async function checkIdFree(client: Client, store: BlobStore, batchId: string): Promise<WorkflowIdReusePolicy> {
  let closed: { status: string; memo: Record<string, unknown> | undefined } | null = null;
  try {
    const description = await client.workflow.getHandle(batchId).describe();
    if (description.status.name === 'RUNNING') {
      throw new UsageError(
        `batchId "${batchId}" is in use: a batch with that id is running. Cancel it, then delete it (anybatch cancel ${batchId} --wait; anybatch delete ${batchId}) to use the id again, or choose another id.`,
      );
    }
    closed = { status: description.status.name.toLowerCase(), memo: description.memo };
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  const record = closed ? fromMemo(closed.memo) : null;
  // Its run folders and results; the flat layout's keys too for a batch staged so (see src/storage/layout.ts).
  const left = await anyDataOf(store, batchId, record !== null && namesFlatInput(batchId, record.anybatch.input_path));
  if (left !== null) {
    const what = closed ? `the earlier batch with that id (${closed.status}) still has data` : 'data of an earlier batch with that id is still';
    throw new UsageError(`batchId "${batchId}" is taken: ${what} in the store (${store.uri(left)}). ${deleteFirst(batchId)}`);
  }
  if (record) {
    const own = ownResultFiles(record.anybatch.results_dir);
    const found = own.find((file) => fs.existsSync(file));
    if (found) throw new UsageError(`batchId "${batchId}" is taken: the earlier batch with that id still has its results at ${found}. ${deleteFirst(batchId)}`);
  }
  return closed ? WorkflowIdReusePolicy.ALLOW_DUPLICATE : WorkflowIdReusePolicy.REJECT_DUPLICATE;
}

/** The files anybatch writes in a caller's own results folder (a local absolute path; none for a store's URI). */
function ownResultFiles(dir: unknown): string[] {
  if (typeof dir !== 'string' || !path.isAbsolute(dir)) return [];
  return ['output.jsonl', 'errors.jsonl', 'recovery.json'].map((name) => path.join(dir, name));
}
