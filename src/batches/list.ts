/** Listing batches: every batch workflow type, newest first, paged like OpenAI's list. */
import type { AnybatchBatch } from '../contract/batch';
import { UsageError } from '../errors';
import { BATCH_CREATED_AT, BATCH_PROVIDER } from '../contract/search-attributes';
import { temporalClient } from '../temporal/client';
import { checkProvider } from '../options';
import type { ClientOptions, ProviderName } from '../options';
import { fromMemo, loadBatch, retrieveBatch, withClosedStatus } from '../batches/read';
import { BATCH_WORKFLOW_TYPES } from '../contract/messages';


export interface ListBatchesOptions extends ClientOptions {
  /** A batch id: list the batches created before it. */
  after?: string;
  /** How many batches (1 to 100, default 20). */
  limit?: number;
}

function escapeQuery(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
}

/** The provider's batches (every provider's with `null`), newest first, paged like OpenAI's list (`after`, `limit`). */
export async function listBatches(provider: ProviderName | null, options: ListBatchesOptions = {}): Promise<AnybatchBatch[]> {
  const limit = options.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new UsageError(`limit must be an integer from 1 to 100 (got ${options.limit}).`);
  if (provider !== null) checkProvider(provider);
  const client = await temporalClient(options.temporal);
  let query = `WorkflowType IN (${BATCH_WORKFLOW_TYPES.map((t) => `'${t}'`).join(', ')}) AND ExecutionStatus != 'ContinuedAsNew'`;
  if (provider !== null) query += ` AND ${BATCH_PROVIDER.name} = '${escapeQuery(provider)}'`;
  let cursor: AnybatchBatch | null = null;
  if (options.after !== undefined) {
    cursor = provider === null ? await loadBatch(options.after, options) : await retrieveBatch(provider, options.after, options);
    query += ` AND ${BATCH_CREATED_AT.name} <= '${new Date(cursor.created_at * 1000).toISOString()}'`;
  }
  const byId = new Map<string, AnybatchBatch>();
  for await (const info of client.workflow.list({ query })) {
    const batch = fromMemo(info.memo);
    if (batch) byId.set(batch.id, withClosedStatus(batch, info));
  }
  const newestFirst = (a: AnybatchBatch, b: AnybatchBatch) => b.created_at - a.created_at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
  const sorted = [...byId.values()].sort(newestFirst);
  const start = cursor ? sorted.filter((b) => newestFirst(cursor!, b) < 0) : sorted;
  return start.slice(0, limit);
}
