/**
 * Alibaba Model Studio, DashScope's OpenAI-compatible mode: OpenAI's Files and Batches APIs at
 * `https://dashscope.aliyuncs.com/compatible-mode/v1` (Beijing; `https://dashscope-intl.aliyuncs.com/compatible-mode/v1`
 * is Singapore's), provider-apis-3.md section 3, through the `openai` SDK: a configuration of the OpenAI adapter
 * (its limits in ./limits.ts). The default base URL is any-llm's for `dashscope`.
 */
import { openAICompatible } from '../openai/compatible';
import type { NoOptions } from '../definition';
import { DASHSCOPE_LIMITS } from './limits';

/** DashScope has no options of its own. */
export type DashScopeOptions = NoOptions;

export const dashscope = openAICompatible<'dashscope', DashScopeOptions>({
  name: 'dashscope',
  label: 'Alibaba Model Studio',
  keyEnv: 'DASHSCOPE_API_KEY',
  baseEnv: 'DASHSCOPE_BASE_URL',
  defaultBaseURL: 'https://dashscope.aliyuncs.com/compatible-mode/v1',
  baseHint: "DashScope's OpenAI-compatible base URL ends in /compatible-mode/v1 (https://dashscope-intl.aliyuncs.com/compatible-mode/v1 outside China)",
  limits: DASHSCOPE_LIMITS,
});
