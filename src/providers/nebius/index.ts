/**
 * Nebius Token Factory (formerly Nebius AI Studio): OpenAI's Files and Batches APIs at
 * `https://api.tokenfactory.nebius.com/v1` (provider-apis-3.md section 3), through the `openai` SDK: a configuration
 * of the OpenAI adapter (its limits in ./limits.ts). Its create's optional `override_settings` are not used.
 */
import { openAICompatible } from '../openai/compatible';
import type { NoOptions } from '../definition';
import { NEBIUS_LIMITS } from './limits';

/** Nebius has no options of its own. */
export type NebiusOptions = NoOptions;

export const nebius = openAICompatible<'nebius', NebiusOptions>({
  name: 'nebius',
  label: 'Nebius',
  keyEnv: 'NEBIUS_API_KEY',
  baseEnv: 'NEBIUS_BASE_URL',
  // The batch guide's base URL; `https://api.studio.nebius.com/v1` is the former one.
  defaultBaseURL: 'https://api.tokenfactory.nebius.com/v1',
  baseHint: "Nebius's base URL ends in /v1 (https://api.tokenfactory.nebius.com/v1)",
  limits: NEBIUS_LIMITS,
});
