/**
 * The public batch API, following any-llm's (`create_batch`, `retrieve_batch`, `cancel_batch`, `list_batches`,
 * results) with OpenAI's `Batch` object for every provider. Each batch is a Temporal workflow whose id is the batch
 * id. This file is the table of contents: each operation lives in a module of its own under src/batches/.
 */

/** Validate and stage the input, start the batch's workflow, return once the provider accepted it. */
export { createBatch, newBatchId } from './batches/create';
/** The batch as its workflow last recorded it (live part counts while it runs; a recovery's counts once ended). */
export { loadBatch, retrieveBatch } from './batches/read';
/** Ask a batch to cancel: its provider batches are cancelled, partial results still delivered. */
export { cancelBatch } from './batches/cancel';
export type { CancelBatchOptions } from './batches/cancel';
/** The batches of a provider (or every provider), newest first, paged like OpenAI's list. */
export { listBatches } from './batches/list';
export type { ListBatchesOptions } from './batches/list';
/** A finished batch's results: raw lines, typed items, or the two files themselves. */
export { batchResultLines, iterateBatchResults, openResultFile, resultLinesOf, retrieveBatchResults } from './batches/results';
export type { ResultFile, ResultsOptions } from './batches/results';
/** Remove a finished batch's data (its id can then be used again). */
export { deleteBatch, deleteBatchData } from './batches/delete';
export type { DeleteBatchResult, DeletedObject } from './batches/delete';
/** Read what a finished batch's given-up parts produced since, and rewrite its result files. */
export { recoverBatch } from './batches/recover';
export type { RecoverBatchOptions } from './batches/recover';
/** The dry run: what `createBatch` would send and what it would cost, with nothing started (src/cost/plan.ts). */
export { planBatch } from './cost/plan';
export type { BatchPlan, PlanBatchOptions, PlannedPart } from './cost/plan';

export type { ClientOptions, CreateBatchOptions } from './options';
export type { BatchResult, BatchResultItem } from './results/types';
