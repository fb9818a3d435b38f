/**
 * The two ways a Gemini batch carries its requests (provider-apis-2.md section 3), as pure builders:
 * - inline, in the create body: `batch.inputConfig.requests.requests[]` of `{request, metadata: {key}}`, for a total
 *   under 20 MB; the responses come back in input order, each with its metadata;
 * - a JSONL file uploaded through the Files API: lines `{"key": custom_id, "request": GenerateContentRequest}`;
 *   the results file has lines `{key, response}` or `{key, error}`.
 * Either way the model is the batch's (`models/{model}:batchGenerateContent`): one model per batch.
 */
import type { FileRequestLine, GenerateContentRequest, InlinedRequest, InlinedResponse } from './types';

/** One batch takes one model, in its create path. */
export const GEMINI_REQUIRES_SINGLE_MODEL = true;
/** Inline requests must total under 20 MB (decimal, the stricter reading). */
export const GEMINI_MAX_INLINE_BYTES = 20_000_000;
/** An input file is at most 2 GB. */
export const GEMINI_MAX_FILE_BYTES = 2_000_000_000;

export type GeminiInputMode = 'inline' | 'file';

/** One request of an inline batch; the custom_id travels as `metadata.key` and comes back with the response. */
export function inlinedRequest(customId: string, request: GenerateContentRequest): InlinedRequest {
  return { request, metadata: { key: customId } };
}

/** One line of a batch input file, newline included. */
export function fileRequestLine(customId: string, request: GenerateContentRequest): string {
  const line: FileRequestLine = { key: customId, request };
  return `${JSON.stringify(line)}\n`;
}

/**
 * Bytes one request adds to what is sent: inline, its JSON in the create body and a separating comma; in a file,
 * its line and the newline. For the splitter's `sentBytes`.
 */
export function geminiSentBytes(customId: string, request: GenerateContentRequest, mode: GeminiInputMode): number {
  if (mode === 'file') return Buffer.byteLength(fileRequestLine(customId, request));
  return Buffer.byteLength(JSON.stringify(inlinedRequest(customId, request))) + 1;
}

/** The custom_id of an inlined response: `metadata.key` (what `inlinedRequest` sets), or `metadata.custom_id`. */
export function inlinedResponseKey(response: InlinedResponse): string | undefined {
  const metadata = response.metadata;
  return metadata?.key ?? metadata?.custom_id;
}

/**
 * The same request in the SDK's `InlinedRequest` shape, for `ai.batches.create({src: [...]})`: the SDK takes
 * `{contents, metadata, config}` with `systemInstruction`, `tools`, `toolConfig`, `safetySettings` and the generation
 * fields flattened into `config`, and rebuilds the REST request from it.
 */
export function sdkInlinedRequest(
  customId: string,
  request: GenerateContentRequest,
): { contents: GenerateContentRequest['contents']; metadata: { key: string }; config: Record<string, unknown> } {
  const { contents, generationConfig, ...rest } = request;
  return { contents, metadata: { key: customId }, config: { ...rest, ...generationConfig } };
}
