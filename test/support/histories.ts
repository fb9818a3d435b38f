/**
 * Committed workflow histories for the replay test. Integration suites record them when run with
 * ANYBATCH_RECORD_HISTORIES=1 (do that once per intentional workflow change, review, commit).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';

export const HISTORIES_DIR = path.join(__dirname, '..', 'histories');

/**
 * Records a workflow's history as `<name>.json`; a batch of the job workflow (`batchJob`) as `job-<name>.json`, so the
 * frozen first workflow's histories (`batchWorkflow`, recorded before it was frozen) are never overwritten.
 */
export async function recordHistory(client: Client, workflowId: string, name: string): Promise<void> {
  if (process.env.ANYBATCH_RECORD_HISTORIES !== '1') return;
  const handle = client.workflow.getHandle(workflowId);
  if ((await handle.describe()).type === 'batchJob') name = `job-${name}`;
  const history = await handle.fetchHistory();
  fs.mkdirSync(HISTORIES_DIR, { recursive: true });
  fs.writeFileSync(path.join(HISTORIES_DIR, `${name}.json`), JSON.stringify(JSON.parse(historyToJSON(history)), null, 1) + '\n');
}
