/**
 * The Gemini Developer API's REST JSON shapes that the translation reads and writes (v1beta, as sent in a batch).
 *
 * Declared here rather than taken from `@google/genai` (2.32.0): that package's `import type` does type-check from
 * our CommonJS build, but its types describe the SDK's objects, not the wire. Its enums (`FinishReason`,
 * `FunctionCallingConfigMode`, `JobState`, ...) are TypeScript enums that plain JSON literals do not satisfy,
 * `GenerateContentResponse` is a class with getters, and it has no `GenerateContentRequest` (the SDK flattens
 * `systemInstruction`, `tools` and the generation fields into one `config`). The checks at the bottom tie every
 * field name declared here to the SDK's own declaration, so a rename in the SDK fails the type-check.
 */
import type * as sdk from '@google/genai';

export type Role = 'user' | 'model';

/** Inline bytes (base64): the REST `Blob`. */
export interface InlineData {
  mimeType: string;
  data: string;
}

/** A file by URI: a Files API URI, or an http(s) URL the API fetches. */
export interface FileData {
  fileUri: string;
  mimeType?: string;
}

export interface FunctionCall {
  name: string;
  args?: Record<string, unknown>;
  id?: string;
}

export interface FunctionResponse {
  name: string;
  /** A JSON object; by convention the function's result under `output` (or `error`). */
  response: Record<string, unknown>;
  id?: string;
}

export interface Part {
  text?: string;
  inlineData?: InlineData;
  fileData?: FileData;
  functionCall?: FunctionCall;
  functionResponse?: FunctionResponse;
  /** Set on the model's thought summaries (output only). */
  thought?: boolean;
  /** Opaque signature of the model's reasoning; Gemini 3 requires it back on function calls in the history. */
  thoughtSignature?: string;
}

export interface Content {
  role?: Role;
  parts: Part[];
}

export interface FunctionDeclaration {
  name: string;
  description?: string;
  /** The parameters as JSON Schema (the subset Gemini supports); the alternative to the OpenAPI-style `parameters`. */
  parametersJsonSchema?: unknown;
}

export interface Tool {
  functionDeclarations?: FunctionDeclaration[];
}

export type FunctionCallingMode = 'MODE_UNSPECIFIED' | 'AUTO' | 'ANY' | 'NONE' | 'VALIDATED';

export interface FunctionCallingConfig {
  mode?: FunctionCallingMode;
  /** Only with mode ANY (or VALIDATED). */
  allowedFunctionNames?: string[];
}

export interface ToolConfig {
  functionCallingConfig?: FunctionCallingConfig;
}

export interface ThinkingConfig {
  /** Tokens the model may think for; 0 turns thinking off where the model allows it, -1 lets the model decide. */
  thinkingBudget?: number;
  includeThoughts?: boolean;
}

export interface GenerationConfig {
  stopSequences?: string[];
  responseMimeType?: string;
  /** JSON Schema of the answer (with `responseMimeType: 'application/json'`); the alternative to `responseSchema`. */
  responseJsonSchema?: unknown;
  candidateCount?: number;
  maxOutputTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  seed?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  responseLogprobs?: boolean;
  /** Top log probabilities per token (with `responseLogprobs`). */
  logprobs?: number;
  thinkingConfig?: ThinkingConfig;
}

export interface SafetySetting {
  /** e.g. `HARM_CATEGORY_HARASSMENT`. */
  category: string;
  /** e.g. `BLOCK_ONLY_HIGH`, `BLOCK_NONE`, `OFF`. */
  threshold: string;
}

/** `models.generateContent`'s body without `model` (a batch takes the model once, in its path). */
export interface GenerateContentRequest {
  contents: Content[];
  systemInstruction?: Content;
  tools?: Tool[];
  toolConfig?: ToolConfig;
  safetySettings?: SafetySetting[];
  generationConfig?: GenerationConfig;
}

// ---------------------------------------------------------------------------------------------------------------
// Responses

/** The finish reasons of `@google/genai` 2.32.0 (checked below). */
export type KnownFinishReason =
  | 'FINISH_REASON_UNSPECIFIED'
  | 'STOP'
  | 'MAX_TOKENS'
  | 'SAFETY'
  | 'RECITATION'
  | 'LANGUAGE'
  | 'OTHER'
  | 'BLOCKLIST'
  | 'PROHIBITED_CONTENT'
  | 'SPII'
  | 'MALFORMED_FUNCTION_CALL'
  | 'IMAGE_SAFETY'
  | 'IMAGE_PROHIBITED_CONTENT'
  | 'IMAGE_RECITATION'
  | 'IMAGE_OTHER'
  | 'NO_IMAGE'
  | 'UNEXPECTED_TOOL_CALL'
  | 'TOO_MANY_TOOL_CALLS'
  | 'CONTINUATION';

/** Open: a reason newer than this list is still a string. */
export type FinishReason = KnownFinishReason | (string & {});

export interface LogprobsCandidate {
  token?: string;
  tokenId?: number;
  logProbability?: number;
}

export interface LogprobsResult {
  topCandidates?: Array<{ candidates?: LogprobsCandidate[] }>;
  chosenCandidates?: LogprobsCandidate[];
}

export interface Candidate {
  content?: Partial<Content>;
  finishReason?: FinishReason;
  finishMessage?: string;
  index?: number;
  tokenCount?: number;
  avgLogprobs?: number;
  logprobsResult?: LogprobsResult;
  safetyRatings?: unknown[];
}

export interface UsageMetadata {
  promptTokenCount?: number;
  /** Prompt tokens served from cached content (included in promptTokenCount). */
  cachedContentTokenCount?: number;
  /** The answer's tokens, thoughts excluded. */
  candidatesTokenCount?: number;
  /** Prompt tokens of server-side tool results. */
  toolUsePromptTokenCount?: number;
  thoughtsTokenCount?: number;
  totalTokenCount?: number;
}

export interface PromptFeedback {
  /** e.g. `SAFETY`, `BLOCKLIST`, `PROHIBITED_CONTENT`, `OTHER`. */
  blockReason?: string;
  blockReasonMessage?: string;
  safetyRatings?: unknown[];
}

export interface GenerateContentResponse {
  candidates?: Candidate[];
  promptFeedback?: PromptFeedback;
  usageMetadata?: UsageMetadata;
  modelVersion?: string;
  responseId?: string;
}

/** A `google.rpc.Status` (per-request batch errors: `code` is the gRPC code) or an HTTP error body's `error` (`code` is the HTTP status). */
export interface Status {
  code?: number;
  message?: string;
  /** The canonical code's name, e.g. `INVALID_ARGUMENT` (HTTP error bodies carry it). */
  status?: string;
  details?: unknown[];
}

/** One request's result: an inlined response (`{response?, error?, metadata?}`) or a results-file line (`{key, response}` / `{key, error}`). */
export interface GeminiResult {
  response?: GenerateContentResponse;
  error?: Status;
}

// ---------------------------------------------------------------------------------------------------------------
// Batch lines and the batch resource

/** One request of an inline batch (`inputConfig.requests.requests[]`). */
export interface InlinedRequest {
  request: GenerateContentRequest;
  metadata: { key: string };
}

/** One line of a batch input file. */
export interface FileRequestLine {
  key: string;
  request: GenerateContentRequest;
}

/** One element of `output.inlinedResponses.inlinedResponses`. */
export interface InlinedResponse extends GeminiResult {
  metadata?: Record<string, string>;
}

/** `metadata.batchStats`: int64 counts, which proto3 JSON sends as strings and omits when zero. */
export interface BatchStats {
  requestCount?: string | number;
  successfulRequestCount?: string | number;
  failedRequestCount?: string | number;
  pendingRequestCount?: string | number;
}

// ---------------------------------------------------------------------------------------------------------------
// Drift checks against the SDK's declarations (type-only; nothing of the SDK is loaded at run time).

/** `true` when every key of `Ours` is a key of `Theirs`; otherwise the offending keys, which fails the `extends true` below. */
type KeysIn<Ours, Theirs> = Exclude<keyof Ours, keyof Theirs> extends never ? true : Exclude<keyof Ours, keyof Theirs>;
type Check<T extends true> = T;

export type _GeminiTypesMatchTheSdk = [
  Check<KeysIn<Part, sdk.Part>>,
  Check<KeysIn<InlineData, sdk.Blob>>,
  Check<KeysIn<FileData, sdk.FileData>>,
  Check<KeysIn<FunctionCall, sdk.FunctionCall>>,
  Check<KeysIn<FunctionResponse, sdk.FunctionResponse>>,
  Check<KeysIn<Content, sdk.Content>>,
  Check<KeysIn<FunctionDeclaration, sdk.FunctionDeclaration>>,
  Check<KeysIn<Tool, sdk.Tool>>,
  Check<KeysIn<FunctionCallingConfig, sdk.FunctionCallingConfig>>,
  Check<KeysIn<ToolConfig, sdk.ToolConfig>>,
  Check<KeysIn<ThinkingConfig, sdk.ThinkingConfig>>,
  Check<KeysIn<GenerationConfig, sdk.GenerationConfig>>,
  Check<KeysIn<SafetySetting, sdk.SafetySetting>>,
  Check<KeysIn<Candidate, sdk.Candidate>>,
  Check<KeysIn<LogprobsResult, sdk.LogprobsResult>>,
  Check<KeysIn<LogprobsCandidate, sdk.LogprobsResultCandidate>>,
  Check<KeysIn<UsageMetadata, sdk.GenerateContentResponseUsageMetadata>>,
  Check<KeysIn<PromptFeedback, sdk.GenerateContentResponsePromptFeedback>>,
  Check<KeysIn<GenerateContentResponse, sdk.GenerateContentResponse>>,
  // Every finish reason the SDK knows is one this module names (the result mapping's table covers them all).
  Check<Exclude<`${sdk.FinishReason}`, KnownFinishReason> extends never ? true : Exclude<`${sdk.FinishReason}`, KnownFinishReason>>,
];
