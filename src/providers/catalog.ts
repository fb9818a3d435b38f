/**
 * What each provider can do and the limits it enforces: the one table every other module reads (validation,
 * splitting, the adapters, the sandbox defaults), built from each provider folder's `limits.ts`. Pure data, safe
 * anywhere: no SDK imports (the registry, `./registry`, adds the rest of each provider's definition).
 */
import { ANTHROPIC_LIMITS } from './anthropic/limits';
import { AZURE_OPENAI_LIMITS } from './azureopenai/limits';
import { GEMINI_LIMITS } from './gemini/limits';
import { GROQ_LIMITS } from './groq/limits';
import { MISTRAL_LIMITS } from './mistral/limits';
import { OPENAI_LIMITS } from './openai/limits';
import { OPENAI_COMPATIBLE_LIMITS } from './openai-compatible/limits';
import type { LineShape, ProviderCapabilities } from './capabilities';
import { OPENAI_LINE } from './capabilities';
import { TOGETHER_LIMITS } from './together/limits';
import { XAI_LIMITS } from './xai/limits';
import { NEBIUS_LIMITS } from './nebius/limits';
import { DASHSCOPE_LIMITS } from './dashscope/limits';
import { MOONSHOT_LIMITS } from './moonshot/limits';
import { CEREBRAS_LIMITS } from './cerebras/limits';
import { BEDROCK_LIMITS } from './bedrock/limits';
import { VERTEX_LIMITS } from './vertexai/limits';

export type { LineShape, ProviderCapabilities, QueueLimits } from './capabilities';
export { OPENAI_LINE } from './capabilities';
export { OPENAI_ENDPOINTS } from './openai/limits';

/** Every provider's capabilities, by name (the registry checks that it has a definition for each, and no other). */
export const PROVIDERS = {
  openai: OPENAI_LIMITS,
  anthropic: ANTHROPIC_LIMITS,
  azureopenai: AZURE_OPENAI_LIMITS,
  groq: GROQ_LIMITS,
  xai: XAI_LIMITS,
  gemini: GEMINI_LIMITS,
  mistral: MISTRAL_LIMITS,
  together: TOGETHER_LIMITS,
  nebius: NEBIUS_LIMITS,
  dashscope: DASHSCOPE_LIMITS,
  moonshot: MOONSHOT_LIMITS,
  cerebras: CEREBRAS_LIMITS,
  bedrock: BEDROCK_LIMITS,
  vertexai: VERTEX_LIMITS,
  'openai-compatible': OPENAI_COMPATIBLE_LIMITS,
} as const satisfies { [P in string]: ProviderCapabilities<P> };

/** A provider anybatch knows (the registry's names: `src/providers/registry.ts` checks they are the same). */
export type ProviderName = keyof typeof PROVIDERS;

export function isProviderName(name: string): name is ProviderName {
  return Object.prototype.hasOwnProperty.call(PROVIDERS, name);
}

/** The shape of `endpoint`'s input lines at this provider. */
export function lineShape(capabilities: ProviderCapabilities, endpoint: string): LineShape {
  return capabilities.nativeLines?.[endpoint] ?? OPENAI_LINE;
}
