/**
 * Issue 17, metadata: each case was first written as a failing reproduction against the code before the fix.
 * Metadata is stored on the batch and travels in its memo with every progress update, so it is bounded for every
 * provider, including those whose batches carry no metadata (Anthropic, Gemini, Together, xAI), by
 * anybatch's own bound (`METADATA_BOUND` in src/options.ts: OpenAI's 16 pairs, 64-character keys, 512-character
 * values, and 16 KiB in all as JSON). A provider's own stricter limit still wins. Each refusal is a `UsageError`
 * naming the key and the limit.
 */
import { UsageError } from '../../src/errors';
import { METADATA_BOUND, parseCreateOptions } from '../../src/options';
import type { ProviderName } from '../../src/options';
import { providerDefinition, supportedProviders } from '../../src/providers/registry';

const PROVIDERS = supportedProviders();
/** Providers whose batches carry no metadata of their own (no limit of theirs applies): Anthropic, Gemini, ... */
const WITHOUT_LIMITS: ProviderName[] = PROVIDERS.filter((p) => providerDefinition(p).capabilities.metadata === null);

/** The pairs a caller may give: the provider's own limit less its reserved keys, within anybatch's 16. */
function pairsAllowed(provider: ProviderName): number {
  const { capabilities, reservedMetadata } = providerDefinition(provider);
  return Math.min(METADATA_BOUND.maxPairs, (capabilities.metadata?.maxPairs ?? Infinity) - reservedMetadata.length);
}

function refusal(provider: ProviderName, metadata: unknown): UsageError {
  try {
    parseCreateOptions(provider, { metadata });
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error(`metadata was accepted by ${provider}`);
}

const pairs = (n: number, value = 'v') => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, value]));

test('the bound is documented as OpenAI-like, with a total', () => {
  expect(METADATA_BOUND).toEqual({ maxPairs: 16, maxKeyLength: 64, maxValueLength: 512, maxTotalBytes: 16 * 1024 });
  expect(WITHOUT_LIMITS).toEqual(expect.arrayContaining(['anthropic', 'gemini', 'together', 'xai']));
});

describe.each(WITHOUT_LIMITS)('%s (no metadata limit of its own)', (provider) => {
  test('17 pairs are refused, naming the limit; 16 are taken', () => {
    expect(parseCreateOptions(provider, { metadata: pairs(16) }).metadata).toEqual(pairs(16));
    expect(refusal(provider, pairs(17)).message).toBe('metadata has 17 pairs; anybatch allows at most 16 for every provider.');
  });

  test('a key over 64 characters is refused, naming the key and the limit', () => {
    const key = 'k'.repeat(65);
    expect(refusal(provider, { [key]: 'v' }).message).toBe(`metadata key "${key}" is longer than 64 characters (anybatch's limit for every provider).`);
  });

  test('a value over 512 characters is refused, naming the key and the limit', () => {
    expect(refusal(provider, { team: 'x'.repeat(513) }).message).toBe("metadata.team is longer than 512 characters (anybatch's limit for every provider).");
    expect(parseCreateOptions(provider, { metadata: { team: 'x'.repeat(512) } }).metadata).toEqual({ team: 'x'.repeat(512) });
  });

  test('a huge key or value never makes a huge message', () => {
    expect(refusal(provider, { ['k'.repeat(1_000_000)]: 'v' }).message.length).toBeLessThan(300);
    expect(refusal(provider, { team: 'x'.repeat(1_000_000) }).message.length).toBeLessThan(300);
  });
});

/** The longest key and value a caller may give `provider`: its own limits, within anybatch's 64 and 512. */
function lengthsAllowed(provider: ProviderName): { key: number; value: number } {
  const own = providerDefinition(provider).capabilities.metadata;
  return { key: Math.min(64, own?.maxKeyLength ?? 64), value: Math.min(512, own?.maxValueLength ?? 512) };
}

/**
 * The providers whose own per-pair limits let metadata reach anybatch's 16 KiB total at all (Vertex AI's labels of 63
 * characters cannot: its per-pair limits bound it first, which the last test of this block checks for every provider).
 */
const TOTAL_REACHABLE = PROVIDERS.filter((p) => {
  const { key, value } = lengthsAllowed(p);
  return pairsAllowed(p) * (key + value * 6 + 6) > 16 * 1024;
});

describe.each(TOTAL_REACHABLE)('%s: the total', (provider) => {
  test('the total is bounded (16 KiB as JSON), naming the limit', () => {
    // Values that take 3 bytes each in UTF-8 (or 6 as JSON escapes), each pair within the per-pair limits: over 16 KiB.
    const { value } = lengthsAllowed(provider);
    const n = pairsAllowed(provider);
    if (n * value * 3 > 16 * 1024) expect(refusal(provider, pairs(n, '€'.repeat(value))).message).toMatch(/^metadata takes \d+ bytes as JSON; anybatch allows at most 16384 \(16 KiB\) for every provider\.$/);
    // Control characters count as JSON writes them (6 bytes each).
    expect(refusal(provider, pairs(n, '\u0001'.repeat(value))).message).toMatch(/^metadata takes \d+ bytes as JSON/);
  });
});

describe.each(PROVIDERS)('%s', (provider) => {
  test('the largest metadata the provider takes in ASCII passes (under the total)', () => {
    const limit = pairsAllowed(provider);
    const { key, value } = lengthsAllowed(provider);
    const big = Object.fromEntries(Array.from({ length: limit }, (_, i) => [`${i}`.padStart(key, 'k'), 'v'.repeat(value)]));
    expect(parseCreateOptions(provider, { metadata: big }).metadata).toEqual(big);
  });
});

test("a provider's own stricter limit still wins (its reserved key counts against its pairs)", () => {
  expect(refusal('azureopenai', pairs(16)).message).toBe('metadata has 16 pairs; azureopenai allows 15 (anybatch uses one).');
  expect(refusal('openai', { ['k'.repeat(65)]: 'v' }).message).toBe(`metadata key "${'k'.repeat(65)}" is longer than 64 characters.`);
});
