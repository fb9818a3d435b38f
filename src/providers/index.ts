/** The providers: the registry (one line per provider) and what derives from it. */
export { REGISTRY, getAdapter, isProviderName, providerDefinition, supportedProviders } from './registry';
export type { ProviderName, ProviderOptionsMap } from './registry';
export type { ProviderDefinition } from './definition';
