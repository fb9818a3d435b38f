/**
 * The stand-in model every provider module answers with: deterministic replies and token counts, so repeated
 * reads of a batch agree and tests can predict outputs. Each provider wraps them in its own response shape.
 */
import { stableHex } from './ids';

/** Tokens are counted as ceil(characters / 4), at least one. */
export const CHARS_PER_TOKEN = 4;

export function countTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / CHARS_PER_TOKEN));
}

/** The reply to a conversation whose last user turn says `lastUserText`. */
export function replyTo(lastUserText: string): string {
  return `Sandbox reply to: ${lastUserText.slice(0, 60)}`;
}

/** The status a request asks to fail with (`"sandbox_error": <status>`): a 4xx or 5xx integer, otherwise 400. */
export function requestedStatus(requested: unknown): number {
  return typeof requested === 'number' && Number.isInteger(requested) && requested >= 400 && requested <= 599 ? requested : 400;
}

/** A unit vector seeded by the text, so equal inputs embed equally. */
export function embeddingFor(text: string, dimensions: number): number[] {
  let state = parseInt(stableHex('embedding', text).slice(0, 8), 16) >>> 0;
  const raw: number[] = [];
  for (let i = 0; i < dimensions; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    raw.push(state / 4294967296 - 0.5);
  }
  const norm = Math.sqrt(raw.reduce((sum, x) => sum + x * x, 0)) || 1;
  return raw.map((x) => Math.round((x / norm) * 1e6) / 1e6);
}
