/**
 * The provider options of `createBatch('gemini', ...)`: their type, their names and their checks. Read by the client
 * (src/options.ts) before anything starts; the adapter reads the same keys on the worker.
 */
import { UsageError } from '../../errors';
import { GEMINI_MAX_INLINE_BYTES } from './batch-lines';

export interface GeminiOptions {
  /**
   * Translated requests up to this many bytes go inline in the create call; above it they are uploaded as a file
   * (a positive integer, at most and by default Gemini's inline limit, 20,000,000).
   */
  maxInlineBytes?: number;
}

const NAMES: Record<keyof GeminiOptions, true> = { maxInlineBytes: true };
export const GEMINI_OPTION_NAMES = Object.keys(NAMES) as readonly (keyof GeminiOptions)[];

export function parseGeminiOptions(options: Record<string, unknown>): GeminiOptions {
  const out: GeminiOptions = {};
  const { maxInlineBytes } = options;
  if (maxInlineBytes !== undefined) {
    if (typeof maxInlineBytes !== 'number' || !Number.isInteger(maxInlineBytes) || maxInlineBytes < 0 || maxInlineBytes > GEMINI_MAX_INLINE_BYTES) {
      throw new UsageError(`maxInlineBytes must be an integer from 0 to ${GEMINI_MAX_INLINE_BYTES} (got ${JSON.stringify(maxInlineBytes)}).`);
    }
    out.maxInlineBytes = maxInlineBytes;
  }
  return out;
}
