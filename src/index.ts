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
  deleteBatch,
  planBatch,
  recoverBatch,
} from './api';
export type { RecoverBatchOptions } from './api';
export type { RecoveredPart, RecoveryReport } from './contract/recovery';
export type { BatchPlan, CancelBatchOptions, DeleteBatchResult, DeletedObject, ListBatchesOptions, PlanBatchOptions, PlannedPart, ResultsOptions } from './api';
export type { BatchCost, KnownCost, PriceUsed, UnknownCost } from './contract/cost';
export type { TokenEstimate } from './contract/tokens';
export type {
  AnthropicOptions,
  AzureOpenAIOptions,
  ClientOptions,
  CommonCreateOptions,
  CreateBatchOptions,
  GeminiOptions,
  GroqOptions,
  MistralOptions,
  OpenAIOptions,
  ProviderName,
  ProviderOptions,
  TogetherOptions,
  XaiOptions,
} from './options';
export { waitForBatch } from './wait';
export type { WaitForBatchOptions } from './wait';
export { ENDPOINTS, isEndpointResult, isResultOf, resultAs } from './results/types';
export type { BatchResult, BatchResultItem, Endpoint, EndpointOf, EndpointResult, ProviderEndpoints } from './results/types';
export type { AnybatchBatch, AnybatchInfo, Batch, BatchResultFiles, BatchStatus, ProviderBatchRef, RetryingStep } from './contract/batch';
export { TERMINAL_STATUSES, isTerminal } from './contract/batch';
export {
  AnybatchError,
  BatchFailedError,
  BatchNotCompleteError,
  BatchNotFoundError,
  InputValidationError,
  TemporalUnavailableError,
  UsageError,
  WaitTimeoutError,
} from './errors';
export type { InputIssue } from './errors';
export { BlobExistsError, BlobNotFoundError, InvalidKeyError, StorageError, checkStore, openStore, storageConfigFromEnv } from './storage';
export type {
  BlobBody,
  BlobInfo,
  BlobStore,
  ByteRange,
  CheckStoreOptions,
  ChecksumMode,
  ConditionalCreateMode,
  ListEntry,
  LocalStoreOptions,
  PutOptions,
  PutResult,
  S3StoreConfig,
  StorageConfig,
  StorageErrorCode,
} from './storage';
export { layout } from './storage/layout';
export type { StorageRef } from './storage/layout';
export type { ResultLine } from './providers/types';
export { PROVIDERS } from './providers/catalog';
export { supportedProviders } from './providers/registry';
export { closeTemporalClients } from './temporal/client';
export type { TemporalOptions } from './temporal/client';
