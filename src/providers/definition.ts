/**
 * What a provider is, in one object: its folder (`src/providers/<name>/index.ts`) exports one definition and the
 * registry (`./registry.ts`) lists it on one line. Everything else (options, validation, the adapters' clients
 * and messages) reads these facts from here.
 */
import type { BatchStatus } from '../contract/batch';
import type { ProviderCapabilities } from './capabilities';
import type { ProviderInfo } from './http-errors';
import type { ProviderAdapter } from './types';

/** A provider's own options of `createBatch` (type `O`): their names and the check of their values. */
export interface ProviderOptionsSpec<O extends object> {
  /** Every option name, once (each folder's options file checks its list against `O`). */
  readonly names: readonly string[];
  /** Checks the values of the options present (names are checked by the caller); a bad one is a `UsageError`. */
  parse(options: Record<string, unknown>): O;
}

export interface ProviderDefinition<N extends string = string, O extends object = object> {
  /** The name in `createBatch(name, ...)` and `--provider`: any-llm's name for the provider. */
  readonly name: N;
  /** The provider's name in messages: "Azure OpenAI". */
  readonly label: string;
  /**
   * Endpoints, limits, completion windows, metadata limits, the custom_ids it takes (`customIds`: validation does not
   * refuse the others, the adapter remaps them through src/providers/custom-ids.ts) and native line shapes: the
   * catalog's row, from the folder's pure `limits.ts`.
   */
  readonly capabilities: ProviderCapabilities<N>;
  /** The worker's environment variables of the API key and the base URL (and any more the provider reads). */
  readonly env: { readonly apiKey: string; readonly baseURL: string; readonly [more: string]: string };
  /** Where the API is when neither `apiBase` nor the base URL variable says; null when it must be given (Azure). */
  readonly defaultBaseURL: string | null;
  /** What a right base URL looks like, for messages: "Anthropic's base URL has no /v1". */
  readonly baseHint?: string;
  /** Metadata keys anybatch writes on the provider batch (callers may not use them; they count against the limit). */
  readonly reservedMetadata: readonly string[];
  /** The provider's own batch statuses and the OpenAI status each maps to; absent when it speaks OpenAI's. */
  readonly statusMap?: Readonly<Record<string, BatchStatus>>;
  /** The provider's own options of `createBatch`. */
  readonly options: ProviderOptionsSpec<O>;
  /** Builds the adapter the activities call (once per process). */
  createAdapter(): ProviderAdapter;
}

/** The options type of a definition. */
export type OptionsOf<D> = D extends ProviderDefinition<string, infer O> ? O : never;

/** For providers without options of their own. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface NoOptions {}

export const NO_OPTIONS: ProviderOptionsSpec<NoOptions> = { names: [], parse: () => ({}) };

/** Who the provider is, for the SDK client cache and error messages. */
export function providerInfo(definition: ProviderDefinition): ProviderInfo {
  return {
    label: definition.label,
    keyEnv: definition.env.apiKey,
    baseEnv: definition.env.baseURL,
    defaultBaseURL: definition.defaultBaseURL,
    ...(definition.baseHint ? { baseHint: definition.baseHint } : {}),
  };
}
