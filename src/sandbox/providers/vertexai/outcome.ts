/**
 * What one line of a job yields: a `response` from the stand-in model, or a failure the line's `status` reports.
 * Per docs/provider-apis-3.md section 2 ("Outputs": each line echoes `request` and adds `response` or `status`) a
 * bad line fails alone and the job still succeeds, as Vertex's batch documentation has it ("For succeeded rows,
 * model responses are stored in the response column; otherwise, error details are stored in the status column").
 * A line fails for the request fault (`requestFaultRate`: INTERNAL), for `"sandbox_error": <status>` inside its
 * `request` (as the other modules take it inside the body), or for a request the model refuses.
 */
import { STATUS_CODES } from 'node:http';
import { REQUEST_FAULT_MESSAGE, requestFaulted, type RequestFault } from '../../kernel/faults';
import { isPlainObject } from '../../kernel/http';
import { requestedStatus } from '../../kernel/model';
import type { Responders } from './dialects';
import { canonicalOf } from './errors';
import type { VertexModel } from './model';

type Json = Record<string, unknown>;

/** Claude on Vertex names this API version in every request instead of a model (docs/provider-apis-3.md section 2). */
export const VERTEX_ANTHROPIC_VERSION = 'vertex-2023-10-16';

export interface LineContext {
  model: VertexModel;
  responders: Responders;
  /** The job's request fault, drawn when it was created. */
  requestFault: RequestFault | null;
}

export interface LineFailure {
  httpStatus: number;
  message: string;
}

/** Claude's Messages params for a Vertex line: the job's model stands in for `anthropic_version`. */
function claudeParams(request: Json, model: VertexModel): Json {
  const params: Json = { ...request, model: model.id };
  delete params.anthropic_version;
  return params;
}

/** Why line `index` (0-based, input order) fails, or null when the model answers it. */
export function lineFailure(line: Json, index: number, ctx: LineContext): LineFailure | null {
  if (requestFaulted(ctx.requestFault, index)) return { httpStatus: 500, message: REQUEST_FAULT_MESSAGE };
  const request = line.request;
  if (!isPlainObject(request)) return { httpStatus: 400, message: 'The line has no "request" object.' };
  if (request.sandbox_error !== undefined) {
    return { httpStatus: requestedStatus(request.sandbox_error), message: `Sandbox error requested by the batch request (sandbox_error=${JSON.stringify(request.sandbox_error)}).` };
  }
  let problem: string | null;
  if (ctx.model.family === 'gemini') problem = ctx.responders.gemini.requestProblem(request);
  else if (request.anthropic_version !== VERTEX_ANTHROPIC_VERSION) problem = `anthropic_version: Input should be '${VERTEX_ANTHROPIC_VERSION}'`;
  else problem = ctx.responders.claude.paramsProblem(claudeParams(request, ctx.model));
  return problem === null ? null : { httpStatus: 400, message: problem };
}

/** The model's answer to a line `lineFailure` passed; `key` is stable per line and seeds its ids. */
export function lineResponse(line: Json, ctx: LineContext, key: string): object {
  const request = line.request as Json;
  if (ctx.model.family === 'gemini') return ctx.responders.gemini.reply(request, ctx.model.id, key);
  return ctx.responders.claude.reply(claudeParams(request, ctx.model), key);
}

/**
 * A failed line's `status`: Vertex writes the error as text, in a form its documentation does not fix; the
 * sandbox writes the HTTP reason and Google's error body, e.g. `Bad Request: {"error":{"code":400,...}}`.
 */
export function statusText(failure: LineFailure): string {
  const body = { error: { code: failure.httpStatus, message: failure.message, status: canonicalOf(failure.httpStatus).status } };
  return `${STATUS_CODES[failure.httpStatus] ?? 'Error'}: ${JSON.stringify(body)}`;
}
