/**
 * Cerebras: OpenAI's Files and Batches APIs at `https://api.cerebras.ai/v1` (provider-apis-3.md section 3, "mostly"
 * compatible), through the `openai` SDK: a configuration of the OpenAI adapter with Cerebras's differences:
 * - a batch is cancelled with `DELETE /v1/batches/{id}` (https://inference-docs.cerebras.ai/api-reference/batch/cancel-batch);
 * - a batch may be `queued` (validated, waiting to run: .../retrieve-batch), read as `in_progress`;
 * - like `cerebras_cloud_sdk` (CEREBRAS_BASE_URL=https://api.cerebras.ai), a base URL without `/v1` gets it added.
 */
import type { BatchStatus } from '../../contract/batch';
import type { SdkClientOptions } from '../sdk-clients';
import { compatibleClient, openAICompatible } from '../openai/compatible';
import type { NoOptions } from '../definition';
import { CEREBRAS_LIMITS } from './limits';

/** Cerebras has no options of its own. */
export type CerebrasOptions = NoOptions;

/** Cerebras's batch statuses: OpenAI's eight and `queued`, and the OpenAI status each reads as. */
export const CEREBRAS_STATUS_MAP: Readonly<Record<string, BatchStatus>> = {
  validating: 'validating',
  queued: 'in_progress',
  in_progress: 'in_progress',
  finalizing: 'finalizing',
  completed: 'completed',
  expired: 'expired',
  failed: 'failed',
  cancelling: 'cancelling',
  cancelled: 'cancelled',
};

/** `https://api.cerebras.ai` and `https://api.cerebras.ai/v1` both name Cerebras's API. */
export function cerebrasBaseURL(base: string): string {
  const trimmed = base.replace(/\/+$/, '');
  return trimmed.endsWith('/v1') ? trimmed : `${trimmed}/v1`;
}

export const cerebras = openAICompatible<'cerebras', CerebrasOptions>({
  name: 'cerebras',
  label: 'Cerebras',
  keyEnv: 'CEREBRAS_API_KEY',
  baseEnv: 'CEREBRAS_BASE_URL',
  defaultBaseURL: 'https://api.cerebras.ai/v1',
  baseHint: "Cerebras's base URL is https://api.cerebras.ai, with or without /v1",
  limits: CEREBRAS_LIMITS,
  client: (options: SdkClientOptions) => compatibleClient({ ...options, baseURL: options.baseURL && cerebrasBaseURL(options.baseURL) }),
  cancel: 'delete',
  statusMap: CEREBRAS_STATUS_MAP,
});
