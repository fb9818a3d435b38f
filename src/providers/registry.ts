/**
 * The provider registry: one line per provider, each a definition exported by the provider's folder. The
 * provider names (`ProviderName`), the list of supported providers and every provider fact derive from it.
 */
import type { Batch } from '../contract/batch';
import { UsageError } from '../errors';
import { anthropic } from './anthropic';
import { azureopenai } from './azureopenai';
import type { OptionsOf, ProviderDefinition } from './definition';
import { gemini } from './gemini';
import { groq } from './groq';
import { mistral } from './mistral';
import { openai } from './openai';
import { openaiCompatible } from './openai-compatible';
import type { ProviderName as CatalogName } from './catalog';
import { normalizeProviderBatch } from './normalize';
import type { ProviderAdapter } from './types';
import { together } from './together';
import { xai } from './xai';
import { nebius } from './nebius';
import { dashscope } from './dashscope';
import { moonshot } from './moonshot';
import { cerebras } from './cerebras';
import { bedrock } from './bedrock';
import { vertexai } from './vertexai';

export const REGISTRY = {
  openai,
  anthropic,
  azureopenai,
  groq,
  xai,
  gemini,
  mistral,
  together,
  nebius,
  dashscope,
  moonshot,
  cerebras,
  bedrock,
  vertexai,
  'openai-compatible': openaiCompatible,
};

/** A provider anybatch speaks: `'openai' | 'anthropic' | 'azureopenai' | 'groq'`. */
export type ProviderName = keyof typeof REGISTRY;

// The catalog (pure facts, importable anywhere) and the registry name the same providers: each side checked here.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const sameNames: Same<ProviderName, CatalogName> = true;
void sameNames;

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

/** The adapter calls that answer with a provider batch object. */
const BATCH_CALLS: ReadonlySet<PropertyKey> = new Set<keyof ProviderAdapter>(['createBatch', 'retrieveBatch', 'cancelBatch']);

type Method = (...args: unknown[]) => unknown;

/**
 * `adapter` with every batch object it answers with passed through `normalizeProviderBatch` (./normalize.ts): one
 * place for every provider, present and to come, so no adapter can hand the workflow a count it cannot sum. A proxy
 * rather than a copy of the interface, so that any other member (an optional one an adapter has, or one added to
 * `ProviderAdapter` later) passes through as it is; every method still runs with the adapter itself as `this`.
 */
function normalizing(adapter: ProviderAdapter): ProviderAdapter {
  // One wrapper per method function, so that reading a method twice gives the same function.
  const wrappers = new WeakMap<Method, Method>();
  return new Proxy(adapter, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const method = value as Method;
      let wrapper = wrappers.get(method);
      if (!wrapper) {
        wrapper = BATCH_CALLS.has(prop)
          ? async (...args: unknown[]) => normalizeProviderBatch((await method.apply(target, args)) as Batch)
          : method.bind(target);
        wrappers.set(method, wrapper);
      }
      return wrapper;
    },
  });
}

/** The adapter of `provider`, built once per process, its batch objects normalized (see `normalizing`). */
export function getAdapter(provider: string): ProviderAdapter {
  let adapter = adapters.get(provider);
  if (!adapter) {
    adapter = normalizing(providerDefinition(provider).createAdapter());
    adapters.set(provider, adapter);
  }
  return adapter;
}
