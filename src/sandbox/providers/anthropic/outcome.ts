/** What one request of a batch yields when it is processed: `succeeded` with a Message, or `errored`. */
import { REQUEST_FAULT_MESSAGE } from '../../kernel/faults';
import { requestedStatus } from '../../kernel/model';
import { errorBody } from './errors';
import { stableAnthropicId } from './ids';
import { paramsProblem } from './params-check';
import { reply } from './responder';
import type { MessageBatchResultJson, StoredRequest } from './wire';

const FORCED_FAILURE = 'Request failed validation (injected by the sandbox failValidation fault).';

/**
 * `key` is stable per request (batch id and custom_id); `failAll` is the failValidation fault as of create;
 * `faulted`: the request fault fails this request (an `api_error`, as Anthropic's transient server errors).
 */
export function processRequest(request: StoredRequest, key: string, failAll: boolean, faulted = false): MessageBatchResultJson {
  const requestId = stableAnthropicId('req', key);
  const errored = (status: number, message: string): MessageBatchResultJson => ({ type: 'errored', error: errorBody(status, message, requestId) });
  if (failAll) return errored(400, FORCED_FAILURE);
  if (faulted) return errored(500, REQUEST_FAULT_MESSAGE);
  const requested = request.params.sandbox_error;
  if (requested !== undefined) {
    return errored(requestedStatus(requested), `Sandbox error requested by the batch request (sandbox_error=${JSON.stringify(requested)}).`);
  }
  const problem = paramsProblem(request.params);
  if (problem !== null) return errored(400, problem);
  return { type: 'succeeded', message: reply(request.params, key) };
}
