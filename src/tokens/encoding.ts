/**
 * How the tokens of a model's text are counted: a real tokenizer for OpenAI's models (gpt-tokenizer's
 * o200k_base for gpt-4o, gpt-4.1, gpt-4.5, gpt-5, o1/o3/o4 and gpt-oss; cl100k_base for gpt-4, gpt-3.5 and the
 * text-embedding models: the encodings OpenAI documents for them), and a documented estimate for every other
 * family (Anthropic, Gemini, Mistral, Llama, Grok, ...), whose tokenizers are not published for JavaScript:
 * one token per 3.5 characters. English prose runs at about 4 characters a token on those tokenizers, so the
 * estimate errs high by up to ~15% there (the safe side for a budget or a cost ceiling) and is within ~30% on
 * code and most other languages; it is an estimate, and says so (`TokenCounter.exact`).
 *
 * The encodings are loaded on first use (o200k_base: ~0.3 s and ~70 MB of RSS), never at import.
 */
import type * as Encoding from 'gpt-tokenizer/cjs/encoding/o200k_base';

export type EncodingName = 'o200k_base' | 'cl100k_base';

export interface TokenCounter {
  /** What counts: an encoding name, or `chars/3.5`. */
  readonly name: EncodingName | 'chars/3.5';
  /** True for a real tokenizer of the model's family, false for the character estimate. */
  readonly exact: boolean;
  count(text: string): number;
}

/** Characters per token of the estimate used for models without a published tokenizer. */
export const CHARS_PER_TOKEN = 3.5;

const O200K = /^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-oss|chatgpt-|o1|o3|o4|codex|computer-use|omni-)/;
const CL100K = /^(gpt-4|gpt-3\.5|gpt-35|text-embedding-)/;
/** Providers whose models are OpenAI's: an unknown name there is taken for a newer OpenAI model (o200k_base). */
const OPENAI_PROVIDERS = new Set(['openai', 'azureopenai']);

/** The encoding of an OpenAI-family model (also when hosted elsewhere: `openai/gpt-oss-120b`), or null. */
export function encodingFor(provider: string, model: string): EncodingName | null {
  const name = model.toLowerCase().replace(/^openai\//, '');
  if (O200K.test(name)) return 'o200k_base';
  if (CL100K.test(name)) return 'cl100k_base';
  return OPENAI_PROVIDERS.has(provider) ? 'o200k_base' : null;
}

const loaded = new Map<EncodingName, typeof Encoding>();

function load(name: EncodingName): typeof Encoding {
  let encoding = loaded.get(name);
  if (!encoding) {
    // Required on first use, so that importing anybatch costs nothing when no tokens are counted.
    encoding = (name === 'o200k_base' ? require('gpt-tokenizer/cjs/encoding/o200k_base') : require('gpt-tokenizer/cjs/encoding/cl100k_base')) as typeof Encoding;
    loaded.set(name, encoding);
  }
  return encoding;
}

/** Special-token spellings in user text are counted as the text they are, never refused. */
const AS_TEXT = { disallowedSpecial: new Set<string>() };

const estimate: TokenCounter = { name: 'chars/3.5', exact: false, count: (text) => Math.ceil(text.length / CHARS_PER_TOKEN) };

const counters = new Map<EncodingName, TokenCounter>();

/** The counter for a provider's model (one per encoding, shared). */
export function tokenCounter(provider: string, model: string): TokenCounter {
  const name = encodingFor(provider, model);
  if (name === null) return estimate;
  let counter = counters.get(name);
  if (!counter) {
    const encoding = load(name);
    counter = { name, exact: true, count: (text) => (text.length === 0 ? 0 : encoding.countTokens(text, AS_TEXT)) };
    counters.set(name, counter);
  }
  return counter;
}
