/**
 * What a request failed by the sandbox's request fault (`requestFaultRate`) reports: a 500 in OpenAI's batch
 * error-file shape, as a real transient server error comes back in a batch's error file.
 */
import { REQUEST_FAULT_MESSAGE } from '../../kernel/faults';
import type { RequestOutcome } from './responder';

export function faultedOutcome(): RequestOutcome {
  return { statusCode: 500, body: { error: { message: REQUEST_FAULT_MESSAGE, type: 'server_error', param: null, code: null } }, inputTokens: 0, outputTokens: 0 };
}
