/**
 * The batch discount of each provider, as each publishes it: each is its provider's own fact (`pricing.batchDiscount`
 * in its folder's `limits.ts`, with the page that states it); this is the table derived from them. The pricing
 * dataset (@pydantic/genai-prices) lists standard (synchronous) prices only, so a batch price is the standard price
 * times (1 - discount). Where a provider says "up to" (Together: on selected models) or "reduced" (xAI) the discount
 * may be smaller for some models, and a cost is then an underestimate: the source says so.
 */
import { PROVIDERS } from '../providers/catalog';
import type { ProviderName } from '../providers/catalog';
import type { BatchDiscount } from '../providers/capabilities';

export type { BatchDiscount };

/** Null for a provider without a batch API (its requests run online, at standard prices). */
export const BATCH_DISCOUNTS: { readonly [P in ProviderName]: BatchDiscount | null } = Object.fromEntries(
  Object.entries(PROVIDERS).map(([name, capabilities]) => [name, capabilities.pricing.batchDiscount]),
) as { [P in ProviderName]: BatchDiscount | null };
