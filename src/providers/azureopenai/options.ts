/**
 * The provider options of `createBatch('azureopenai', ...)`: their type, their names and their checks. Read by
 * the client (src/options.ts) before anything starts; the adapter's client reads the same keys on the worker.
 */
import { UsageError } from '../../errors';

/** The `api-version` sent when neither the `apiVersion` option nor OPENAI_API_VERSION gives one. */
export const DEFAULT_AZURE_API_VERSION = '2025-03-01-preview';

export interface AzureOpenAIOptions {
  /**
   * The `api-version` query parameter of every request (default: the worker's OPENAI_API_VERSION, then
   * `2025-03-01-preview`). Not sent to the v1 API (an `apiBase` ending in `/openai/v1`), which has none.
   */
  apiVersion?: string;
}

/** Every option name, once (the record makes the compiler check the list against the type). */
const NAMES: Record<keyof AzureOpenAIOptions, true> = { apiVersion: true };
export const AZURE_OPENAI_OPTION_NAMES = Object.keys(NAMES) as readonly (keyof AzureOpenAIOptions)[];

/** Checks the values of the Azure OpenAI options present in `options` (names are checked by the caller). */
export function parseAzureOpenAIOptions(options: Record<string, unknown>): AzureOpenAIOptions {
  const { apiVersion } = options;
  if (apiVersion === undefined) return {};
  if (typeof apiVersion !== 'string' || !/^[A-Za-z0-9._-]+$/.test(apiVersion)) {
    throw new UsageError(`apiVersion must be an Azure OpenAI API version such as "${DEFAULT_AZURE_API_VERSION}" (got ${JSON.stringify(apiVersion)}).`);
  }
  return { apiVersion };
}
