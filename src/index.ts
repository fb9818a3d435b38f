/** anybatch: durable, provider-agnostic LLM batch jobs on Temporal. */
export {
  createBatch,
  loadBatch,
  retrieveBatch,
  cancelBatch,
  listBatches,
  retrieveBatchResults,
  iterateBatchResults,
  batchResultLines,
} from './api';
export type { BatchResult, BatchResultItem, CancelBatchOptions, ClientOptions, CreateBatchOptions, ListBatchesOptions } from './api';
export type { AnybatchBatch, AnybatchInfo, Batch, BatchResultFiles, BatchStatus, ProviderBatchRef } from './batch';
export { TERMINAL_STATUSES, isTerminal } from './batch';
export { AnybatchError, BatchFailedError, BatchNotCompleteError, BatchNotFoundError, InputValidationError, UsageError } from './errors';
export type { InputIssue } from './errors';
export type { ResultLine } from './providers/types';
export { PROVIDERS } from './providers/catalog';
export { closeTemporalClients } from './temporal/client';
export type { TemporalOptions } from './temporal/client';
