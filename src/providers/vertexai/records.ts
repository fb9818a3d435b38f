/**
 * OpenAI chat requests <-> Vertex AI batch prediction lines (provider-apis-3.md section 2), as pure functions.
 *
 * Claude on Vertex (`claude-*` models, `publishers/anthropic/models/<id>`) takes `{"custom_id", "request"}` lines whose
 * request is Anthropic's Messages body without `model` and with `anthropic_version: "vertex-2023-10-16"` (Anthropic's
 * mapping, src/providers/anthropic/request.ts); its `custom_id` is anybatch's id of the request too, and each output
 * line's `response` is an Anthropic message. Every other model is Gemini's, as below.
 *
 * A line is `{"request": GenerateContentRequest}`: the request Gemini's own batch path sends (the Gemini mapping,
 * src/providers/gemini/request.ts), with `labels.anybatch_request` carrying anybatch's id of it (`r` and its line in
 * the part, ten digits: label values take lowercase letters, digits, `_` and `-` only, so a user's custom_ids could
 * not go there as they are). Vertex echoes `request` in each output line, with `response` or `status`, in no set
 * order: the results are joined back on that label.
 */
import type { ResultLine } from '../types';
import { toAnthropicParams, toOpenAIResultLine as anthropicResultLine } from '../anthropic/mapping';
import { checkGeminiRequest, toGeminiRequest, toOpenAIResultLine as geminiResultLine, RequestMappingError } from '../gemini/mapping';
import type { GenerateContentResponse } from '../gemini/mapping';
import type { RequestCheck } from '../types';

export const REQUEST_LABEL = 'anybatch_request';

export function requestId(index: number): string {
  return `r${String(index).padStart(10, '0')}`;
}

/** The line index of one of anybatch's request ids, or null for any other. */
export function requestIndex(id: unknown): number | null {
  return typeof id === 'string' && /^r\d{10}$/.test(id) ? Number(id.slice(1)) : null;
}

export const VERTEX_ANTHROPIC_VERSION = 'vertex-2023-10-16';

/** `gemini-2.5-flash`, `models/gemini-2.5-flash`, `publishers/google/models/...` or `publishers/anthropic/models/claude-...`: the model's id. */
export function vertexModelId(model: string): string {
  const id = model.replace(/^publishers\/(google|anthropic)\//, '').replace(/^models\//, '');
  if (id === '' || /[\s/]/.test(id)) throw new RequestMappingError('body.model', `model ${JSON.stringify(model)} is not a Gemini or Claude model on Vertex AI (e.g. gemini-2.5-flash, claude-sonnet-4-5)`);
  return id;
}

/** Whether a model id is Claude's (Anthropic's models on Vertex). */
export function isClaude(modelId: string): boolean {
  return modelId.startsWith('claude-');
}

/** The job's model resource. */
export function publisherModel(model: string): string {
  const id = vertexModelId(model);
  return `publishers/${isClaude(id) ? 'anthropic' : 'google'}/models/${id}`;
}

/** One request as a Vertex line, and its model id. */
export function vertexLine(index: number, body: Record<string, unknown>): { model: string; line: string } {
  const model = vertexModelId(String(body.model ?? ''));
  if (isClaude(model)) {
    const { model: _model, ...params } = toAnthropicParams({ ...body, model }).params as unknown as Record<string, unknown>;
    return { model, line: JSON.stringify({ custom_id: requestId(index), request: { anthropic_version: VERTEX_ANTHROPIC_VERSION, ...params } }) + '\n' };
  }
  const { request } = toGeminiRequest({ ...body, model });
  return { model, line: JSON.stringify({ request: { ...request, labels: { [REQUEST_LABEL]: requestId(index) } } }) + '\n' };
}

export function checkVertexRequest(payload: Record<string, unknown>): RequestCheck {
  let model: string;
  try {
    model = vertexModelId(String(payload.model ?? ''));
    if (isClaude(model)) toAnthropicParams({ ...payload, model });
  } catch (err) {
    // One error class for every provider's mapping (src/providers/request-mapping.ts).
    if (err instanceof RequestMappingError) return { problems: [{ field: err.field, message: err.message }], warnings: [] };
    throw err;
  }
  return isClaude(model) ? { problems: [], warnings: [] } : checkGeminiRequest({ ...payload, model });
}

/** One line of a job's predictions. */
export interface PredictionLine {
  /** Claude lines: anybatch's id of the request. */
  custom_id?: unknown;
  request?: { labels?: Record<string, unknown> } | null;
  response?: GenerateContentResponse | null;
  status?: unknown;
}

/** The line's request id, or null when it carries none of anybatch's. */
export function predictionIndex(line: PredictionLine): number | null {
  return requestIndex(line.custom_id) ?? requestIndex(line.request?.labels?.[REQUEST_LABEL]);
}

/** A prediction line -> an OpenAI batch line under the user's custom_id. */
export function toOpenAIResultLine(line: PredictionLine, customId: string, opts: { model: string; createdAt: number }): ResultLine {
  const status = line.status;
  if (status !== undefined && status !== null && status !== '' && !line.response) {
    // Vertex writes a failed request's error as a string (`status`), sometimes an object with code and message.
    const error = typeof status === 'object' ? (status as { code?: number; message?: string }) : { message: String(status) };
    return geminiResultLine(customId, { error: { code: error.code ?? 400, message: error.message ?? String(status) } }, opts);
  }
  if (isClaude(opts.model) && line.response) {
    // An Anthropic message, as the Messages API answers it: the Anthropic adapter's own mapping.
    return anthropicResultLine({ custom_id: String(line.custom_id), result: { type: 'succeeded', message: line.response as never } }, customId, { createdAt: opts.createdAt });
  }
  return geminiResultLine(customId, line.response ? { response: line.response } : {}, opts);
}
