/**
 * The custom search attributes anybatch sets on every batch workflow, so operators can filter and watch
 * batches in the Temporal Web UI. The one list of them: the worker registers these, the dev server is
 * started with these, the workflow upserts these. Workflow-safe.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const BATCH_STATUS = defineSearchAttributeKey('AnybatchStatus', SearchAttributeType.KEYWORD);
export const BATCH_PROVIDER = defineSearchAttributeKey('AnybatchProvider', SearchAttributeType.KEYWORD);
export const BATCH_TOTAL = defineSearchAttributeKey('AnybatchTotal', SearchAttributeType.INT);
export const BATCH_COMPLETED = defineSearchAttributeKey('AnybatchCompleted', SearchAttributeType.INT);
export const BATCH_FAILED = defineSearchAttributeKey('AnybatchFailed', SearchAttributeType.INT);
export const BATCH_CREATED_AT = defineSearchAttributeKey('AnybatchCreatedAt', SearchAttributeType.DATETIME);
export const BATCH_PROVIDER_IDS = defineSearchAttributeKey('AnybatchProviderBatchIds', SearchAttributeType.KEYWORD_LIST);
/**
 * How many parts (provider batches, planned or made) the batch has: the id list above holds only the first that fit
 * in Temporal's 2 KB per value. A Double, as Temporal's dev server allows three Int attributes and those are taken.
 */
export const BATCH_PARTS = defineSearchAttributeKey('AnybatchParts', SearchAttributeType.DOUBLE);
/** What the results cost in USD at batch prices (set once known: never for an unknown price). */
export const BATCH_COST_USD = defineSearchAttributeKey('AnybatchCostUsd', SearchAttributeType.DOUBLE);

export const SEARCH_ATTRIBUTES = [
  BATCH_STATUS,
  BATCH_PROVIDER,
  BATCH_TOTAL,
  BATCH_COMPLETED,
  BATCH_FAILED,
  BATCH_CREATED_AT,
  BATCH_PROVIDER_IDS,
  BATCH_PARTS,
  BATCH_COST_USD,
] as const;

/** `temporal server start-dev --search-attribute` spelling of each type. */
export function searchAttributeFlags(): string[] {
  const cliType: Record<string, string> = {
    [SearchAttributeType.KEYWORD]: 'Keyword',
    [SearchAttributeType.INT]: 'Int',
    [SearchAttributeType.DATETIME]: 'Datetime',
    [SearchAttributeType.KEYWORD_LIST]: 'KeywordList',
    [SearchAttributeType.DOUBLE]: 'Double',
  };
  return SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k.name}=${cliType[k.type]}`]);
}
