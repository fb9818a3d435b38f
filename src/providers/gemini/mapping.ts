/**
 * OpenAI batch format <-> Gemini Developer API batches, as pure functions (provider-apis-2.md section 3). The
 * adapter (./adapter.ts) calls these; each concern lives in its own file under this folder.
 *
 * The translation rules (requests, results, batch states) are in the README's "Gemini translation" paragraph.
 */
export { RequestMappingError } from './request-support';
export { toGeminiRequest, checkGeminiRequest, geminiModelName, MAX_STOP_SEQUENCES, THINKING_BUDGETS } from './request';
export type { GeminiMappingOptions, MappedGeminiRequest } from './request';
export { IMAGE_MIME_TYPES, DEFAULT_URL_IMAGE_MIME_TYPE, SKIP_THOUGHT_SIGNATURE } from './request-content';
export { GEMINI_FUNCTION_NAME } from './request-tools';
export {
  GEMINI_MAX_FILE_BYTES,
  GEMINI_MAX_INLINE_BYTES,
  GEMINI_REQUIRES_SINGLE_MODEL,
  fileRequestLine,
  geminiSentBytes,
  inlinedRequest,
  inlinedResponseKey,
  sdkInlinedRequest,
} from './batch-lines';
export type { GeminiInputMode } from './batch-lines';
export { toOpenAIResultLine, toChatCompletion, toUsage, finishReason, errorStatusCode } from './result-line';
export type { GeminiResultOptions, ChatCompletionBody, GeminiToolCall } from './result-line';
export { GEMINI_STATUS_MAP, geminiBatchStatus, geminiRequestCounts } from './batch-status';
export type * from './types';
