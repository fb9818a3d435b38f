/**
 * The provider registry: one line per provider, each a definition exported by the provider's folder. The
 * provider names (`ProviderName`), the list of supported providers and every provider fact derive from it.
 */
import { UsageError } from '../errors';
import { anthropic } from './anthropic';
import { azureopenai } from './azureopenai';
import type { OptionsOf, ProviderDefinition } from './definition';
import { gemini } from './gemini';
import { groq } from './groq';
import { mistral } from './mistral';
import { openai } from './openai';
import { openaiCompatible } from './openai-compatible';
import type { ProviderAdapter } from './types';
import { together } from './together';
import { xai } from './xai';

export const REGISTRY = {
  openai,
  anthropic,
  azureopenai,
  groq,
  xai,
  gemini,
  mistral,
  together,
  'openai-compatible': openaiCompatible,
};

/** A provider anybatch speaks: `'openai' | 'anthropic' | 'azureopenai' | 'groq'`. */
export type ProviderName = keyof typeof REGISTRY;

/** Each provider's own options of `createBatch`, by provider name. */
export type ProviderOptionsMap = { [P in ProviderName]: OptionsOf<(typeof REGISTRY)[P]> };

export function isProviderName(name: unknown): name is ProviderName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(REGISTRY, name);
}

/** Every provider name, in registry order. */
export function supportedProviders(): ProviderName[] {
  return Object.keys(REGISTRY) as ProviderName[];
}

/** The `UsageError` of a provider name anybatch does not know, listing the ones it does. */
export function unknownProvider(provider: unknown): UsageError {
  return new UsageError(`Provider ${JSON.stringify(provider)} is not supported; supported: ${supportedProviders().join(', ')}.`);
}

/** The definition of `provider`; an unknown name is a `UsageError` listing the supported ones. */
export function providerDefinition<P extends ProviderName>(provider: P): (typeof REGISTRY)[P];
export function providerDefinition(provider: string): ProviderDefinition;
export function providerDefinition(provider: string): ProviderDefinition {
  if (!isProviderName(provider)) throw unknownProvider(provider);
  return REGISTRY[provider];
}

const adapters = new Map<string, ProviderAdapter>();

/** The adapter of `provider`, built once per process. */
export function getAdapter(provider: string): ProviderAdapter {
  let adapter = adapters.get(provider);
  if (!adapter) {
    adapter = providerDefinition(provider).createAdapter();
    adapters.set(provider, adapter);
  }
  return adapter;
}
