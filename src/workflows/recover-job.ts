/**
 * The recovery of a batch's given-up parts (src/contract/recovery.ts): one activity on the worker that holds the
 * batch's store and credentials reads what those provider batches produced and rewrites the result files. Started
 * by `recoverBatch()` / `anybatch recover ID` with the id `<batch>/recover`; run again as often as needed (a part
 * whose provider batch has not finished yet stays recoverable). Workflow code.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { RecoveryActivities } from '../contract/activities';
import type { RecoverJobInput, RecoveryReport } from '../contract/recovery';

const { recoverResults } = proxyActivities<RecoveryActivities>({
  startToCloseTimeout: '2h',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '2m', maximumAttempts: 5 },
});

export async function recoverJob(input: RecoverJobInput): Promise<RecoveryReport> {
  return recoverResults(input.spec);
}
