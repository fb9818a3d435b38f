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

export const PROVIDER_MODULES = { openai, anthropic, groq, azureopenai, xai, gemini, mistral, together } satisfies Record<string, ProviderModule>;

export type SandboxProviderName = keyof typeof PROVIDER_MODULES;
