/** The provider registry: one line per provider. */
import { UsageError } from '../errors';
import { PROVIDERS } from './catalog';
import { AnthropicAdapter } from './anthropic/adapter';
import { OpenAIAdapter } from './openai/adapter';
import type { ProviderAdapter } from './types';

const factories: Record<string, () => ProviderAdapter> = {
  openai: () => new OpenAIAdapter(PROVIDERS.openai),
  anthropic: () => new AnthropicAdapter(PROVIDERS.anthropic),
};

const adapters = new Map<string, ProviderAdapter>();

export function supportedProviders(): string[] {
  return Object.keys(factories);
}

export function getAdapter(provider: string): ProviderAdapter {
  let adapter = adapters.get(provider);
  if (!adapter) {
    const make = factories[provider];
    if (!make) throw new UsageError(`Provider "${provider}" is not supported; supported: ${supportedProviders().join(', ')}.`);
    adapter = make();
    adapters.set(provider, adapter);
  }
  return adapter;
}
