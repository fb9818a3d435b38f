/**
 * Moonshot (Kimi): OpenAI's Files and Batches APIs at `https://api.moonshot.ai/v1` (`https://api.moonshot.cn/v1` in
 * China), provider-apis-3.md section 3, through the `openai` SDK: a configuration of the OpenAI adapter (its limits
 * in ./limits.ts).
 */
import { openAICompatible } from '../openai/compatible';
import type { NoOptions } from '../definition';
import { MOONSHOT_LIMITS } from './limits';

/** Moonshot has no options of its own. */
export type MoonshotOptions = NoOptions;

export const moonshot = openAICompatible<'moonshot', MoonshotOptions>({
  name: 'moonshot',
  label: 'Moonshot',
  keyEnv: 'MOONSHOT_API_KEY',
  baseEnv: 'MOONSHOT_BASE_URL',
  defaultBaseURL: 'https://api.moonshot.ai/v1',
  baseHint: "Moonshot's base URL ends in /v1 (https://api.moonshot.ai/v1, or https://api.moonshot.cn/v1)",
  limits: MOONSHOT_LIMITS,
  // Its list is OpenAI's cursor list (`after`, `has_more`); the order is not documented.
});
