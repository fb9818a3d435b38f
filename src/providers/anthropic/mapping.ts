/**
 * OpenAI batch format <-> Anthropic Message Batches, as pure functions (docs/provider-apis.md section 10).
 * The adapter calls these; each concern lives in its own file under this folder.
 */
export { RequestMappingError } from './request-support';
export { toAnthropicParams, DEFAULT_MAX_TOKENS, JSON_OBJECT_INSTRUCTION } from './request';
export type { AnthropicMappingOptions, AnthropicParams, MappedRequest } from './request';
export { toOpenAIResultLine, errorStatusCode } from './result-line';
export type { ResultLineOptions, AnthropicResultLine } from './result-line';
export { toOpenAIBatch } from './batch-object';
export type { BatchContext } from './batch-object';
export { ANTHROPIC_CUSTOM_ID, CustomIdMap } from './custom-ids';
