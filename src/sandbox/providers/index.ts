/** The registry: one line per emulated provider (its name is its path prefix), served in this order. */
import type { ProviderModule } from '../kernel/provider';
import { anthropic } from './anthropic';
import { azureopenai } from './azureopenai';
import { groq } from './groq';
import { openai } from './openai';

export const PROVIDER_MODULES = { openai, anthropic, groq, azureopenai } satisfies Record<string, ProviderModule>;

export type SandboxProviderName = keyof typeof PROVIDER_MODULES;
