/** The registry: one line per emulated provider (its name is its path prefix), served in this order. */
import type { ProviderModule } from '../kernel/provider';
import { anthropic } from './anthropic';
import { azureopenai } from './azureopenai';
import { gemini } from './gemini';
import { groq } from './groq';
import { mistral } from './mistral';
import { openai } from './openai';
import { together } from './together';
import { xai } from './xai';
import { nebius } from './nebius';
import { dashscope } from './dashscope';
import { moonshot } from './moonshot';
import { cerebras } from './cerebras';

export const PROVIDER_MODULES = { openai, anthropic, groq, azureopenai, xai, gemini, mistral, together, nebius, dashscope, moonshot, cerebras } satisfies Record<string, ProviderModule>;

export type SandboxProviderName = keyof typeof PROVIDER_MODULES;
