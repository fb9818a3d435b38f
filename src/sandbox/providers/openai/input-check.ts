/**
 * The asynchronous validation OpenAI runs while a batch is `validating`: one streamed pass over the input
 * file that either finds line errors or produces the plan of per-request outcomes the batch will report.
 */
import { isPlainObject } from '../../kernel/http';
import { requestFaulted, type RequestFault } from '../../kernel/faults';
import { readInputLines } from '../../kernel/jsonl';
import { faultedOutcome } from './request-fault';
import { promptTokens, respond } from './responder';
import type { BatchErrorJson } from './wire';

/** Bounds memory on a file that is wrong on every line; the real API also lists only the first errors. */
const MAX_ERRORS_LISTED = 100;

/**
 * What running the batch will produce, as prefix sums over requests in run (file) order, so the counts and
 * usage after any number of processed requests are O(1) reads: `failed[k]` is how many of the first k fail.
 */
export interface RequestPlan {
  /** The endpoint the requests run on: the batch's, or (where the input file decides it, Azure) its lines'. */
  endpoint: string;
  total: number;
  model: string | null;
  failed: Uint32Array;
  inputTokens: Float64Array;
  outputTokens: Float64Array;
  /** Prompt tokens (`promptTokens`) of the requests naming each model: what the batch enqueues, per model. */
  enqueuedTokens: ReadonlyMap<string, number>;
}

export type InputCheck = { ok: true; plan: RequestPlan } | { ok: false; errors: BatchErrorJson[] };

/** How a provider reads a line's `url` against the batch's endpoint, and its least requests per batch. */
export interface LineRules {
  /**
   * The endpoint a line's `url` names, or null when it names none the provider takes. Default: the url itself,
   * which must then equal the batch's endpoint. Azure's also takes `/chat/completions` for `/v1/chat/completions`.
   */
  lineEndpoint?(url: unknown): string | null;
  /**
   * The input file decides the endpoint, whatever the create named (Azure: "While passing this parameter is
   * required, the system will read your input file to determine if the chat completions or responses API is
   * needed"): the first line's, which every other line must name too.
   */
  fileDecides?: boolean;
  /** Fewest requests a batch may hold (Cerebras: 10); fewer fail the batch. */
  minRequests?: number;
  /** The provider's name in the message of too few requests. */
  label?: string;
}

/**
 * `singleModel`: a line naming another model than the first line's fails the batch (`model_mismatch`).
 * `requestFault`: the batch's request fault, so that the plan counts the requests it fails.
 */
export async function checkInput(
  path: string,
  batchEndpoint: string,
  maxRequests: number,
  singleModel = true,
  requestFault: RequestFault | null = null,
  rules: LineRules = {},
): Promise<InputCheck> {
  const lineEndpoint = rules.lineEndpoint ?? ((url: unknown) => (typeof url === 'string' ? url : null));
  let endpoint = batchEndpoint;
  let decided = !rules.fileDecides;
  const errors: BatchErrorJson[] = [];
  const fail = (line: number, code: string, message: string, param: string | null): void => {
    if (errors.length < MAX_ERRORS_LISTED) errors.push({ code, message, param, line });
  };
  const seen = new Set<string>();
  const failed: number[] = [0];
  const inputTokens: number[] = [0];
  const outputTokens: number[] = [0];
  const enqueuedTokens = new Map<string, number>();
  let model: string | null = null;
  let count = 0;

  for await (const { line, text } of readInputLines(path)) {
    count++;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      fail(line, 'invalid_json_line', 'This line is not parseable as valid JSON.', null);
      continue;
    }
    if (!isPlainObject(parsed)) {
      fail(line, 'invalid_json_line', 'This line is not a JSON object.', null);
      continue;
    }
    const { custom_id: customId, method, url, body } = parsed;
    if (typeof customId !== 'string' || customId === '') {
      fail(line, 'missing_required_parameter', "Missing required parameter: 'custom_id' (a non-empty string).", 'custom_id');
      continue;
    }
    if (seen.has(customId)) {
      fail(line, 'duplicate_custom_id', 'The custom_id for this request is a duplicate of another request. The custom_id parameter must be unique for each request in a batch.', 'custom_id');
      continue;
    }
    seen.add(customId);
    if (method !== 'POST') {
      fail(line, 'invalid_method', `Only POST requests are supported in a batch; got ${JSON.stringify(method)}.`, 'method');
      continue;
    }
    const named = lineEndpoint(url);
    if (named !== null && !decided) {
      endpoint = named;
      decided = true;
    }
    if (named !== endpoint) {
      fail(line, 'url_mismatch', `The URL provided for this request does not match the batch endpoint (${JSON.stringify(url)} vs '${endpoint}').`, 'url');
      continue;
    }
    if (!isPlainObject(body)) {
      fail(line, 'missing_required_parameter', "Missing required parameter: 'body' (a JSON object).", 'body');
      continue;
    }
    if (body.stream === true) {
      fail(line, 'invalid_value', 'Streaming is not supported in the Batch API.', 'body.stream');
      continue;
    }
    if (typeof body.model === 'string') {
      if (model === null) model = body.model;
      else if (singleModel && body.model !== model) {
        fail(line, 'model_mismatch', `Each input file can only include requests to a single model; this line uses '${body.model}', earlier lines use '${model}'.`, 'body.model');
        continue;
      }
    }
    if (count > maxRequests) continue; // reported once below; no need to plan requests that will never run
    const outcome = requestFaulted(requestFault, failed.length - 1) ? faultedOutcome() : respond(endpoint, body, { key: customId, created: 0 });
    const ok = outcome.statusCode >= 200 && outcome.statusCode < 300;
    failed.push(failed[failed.length - 1] + (ok ? 0 : 1));
    inputTokens.push(inputTokens[inputTokens.length - 1] + outcome.inputTokens);
    outputTokens.push(outputTokens[outputTokens.length - 1] + outcome.outputTokens);
    if (typeof body.model === 'string') enqueuedTokens.set(body.model, (enqueuedTokens.get(body.model) ?? 0) + promptTokens(endpoint, body));
  }

  if (count === 0) errors.push({ code: 'empty_file', message: 'The batch input file is empty.', param: null, line: null });
  else if (rules.minRequests !== undefined && count < rules.minRequests) {
    // The bound is documented (Cerebras: "Minimum 10 requests"); the error's code and words are the sandbox's own.
    errors.push({
      code: 'too_few_requests',
      message: `The batch input file has ${count} requests, fewer than the minimum of ${rules.minRequests} per batch${rules.label ? ` at ${rules.label}` : ''}.`,
      param: null,
      line: null,
    });
  }
  if (count > maxRequests) {
    errors.push({
      code: 'too_many_tasks',
      message: `The batch input file has ${count} requests, more than the maximum of ${maxRequests} per batch.`,
      param: null,
      line: null,
    });
  }
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    plan: {
      endpoint,
      total: count,
      model,
      failed: Uint32Array.from(failed),
      inputTokens: Float64Array.from(inputTokens),
      outputTokens: Float64Array.from(outputTokens),
      enqueuedTokens,
    },
  };
}
