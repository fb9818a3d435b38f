/**
 * Each provider's limits, from the orchestrator's pure limits table (`src/providers/catalog.ts`, the one module
 * of the orchestrator the sandbox reads) when it lists the provider, else from the sandbox's own defaults.
 */
import { PROVIDERS } from '../../providers/catalog';

export interface ProviderLimits {
  maxRequestsPerBatch: number;
  maxBytesPerBatch: number;
  /** Every request of one batch must name the same model. */
  requiresSingleModel: boolean;
  /** Metadata limits on the batch object, when it has metadata. */
  metadata: { maxPairs: number; maxKeyLength: number; maxValueLength: number } | null;
}

/** Only the fields read here, each optional: the table may list a provider before or after the sandbox knows it. */
type CatalogRow = Partial<ProviderLimits>;

const CATALOG: Readonly<Record<string, CatalogRow | undefined>> = PROVIDERS;

export function limitsOf(name: string, defaults: ProviderLimits): ProviderLimits {
  const row = CATALOG[name];
  return {
    maxRequestsPerBatch: row?.maxRequestsPerBatch ?? defaults.maxRequestsPerBatch,
    maxBytesPerBatch: row?.maxBytesPerBatch ?? defaults.maxBytesPerBatch,
    requiresSingleModel: row?.requiresSingleModel ?? defaults.requiresSingleModel,
    metadata: row?.metadata === undefined ? defaults.metadata : row.metadata,
  };
}
