/** Injected failures for `/v1/*` requests, drawn from a seeded PRNG so a run with a given seed repeats. */
import { ApiError } from './http';
import type { SandboxFaults } from './index';
import type { BatchErrorJson } from './wire';

const DEFAULT_SEED = 1;

/** The validation error every batch gets while the failValidation fault is set. */
export const FORCED_VALIDATION_ERROR: BatchErrorJson = {
  code: 'sandbox_forced_failure',
  message: 'Batch validation failed (injected by the sandbox failValidation fault).',
  param: null,
  line: 1,
};

export type FaultDecision = { kind: 'none' } | { kind: 'drop' } | { kind: 'error'; error: ApiError };

export interface FaultCounts {
  rate429: number;
  rate500: number;
  drops: number;
  truncated: number;
}

export class FaultInjector {
  readonly counts: FaultCounts = { rate429: 0, rate500: 0, drops: 0, truncated: 0 };
  private faults: SandboxFaults = {};
  private random: () => number = mulberry32(DEFAULT_SEED);

  constructor(faults: SandboxFaults) {
    this.set(faults);
  }

  /** Replaces every setting and restarts the PRNG, so the same settings give the same sequence. */
  set(faults: SandboxFaults): void {
    this.faults = { ...faults };
    this.random = mulberry32(faults.seed ?? DEFAULT_SEED);
  }

  get current(): Readonly<SandboxFaults> {
    return this.faults;
  }

  /** What happens to one API request. */
  decide(): FaultDecision {
    if (this.draw(this.faults.rateDrop)) {
      this.counts.drops++;
      return { kind: 'drop' };
    }
    if (this.draw(this.faults.rate500)) {
      this.counts.rate500++;
      return { kind: 'error', error: new ApiError(500, 'The server had an error while processing your request. Sorry about that!', 'server_error') };
    }
    if (this.draw(this.faults.rate429)) {
      this.counts.rate429++;
      const retryAfter = String(this.faults.retryAfterSeconds ?? 1);
      return {
        kind: 'error',
        error: new ApiError(
          429,
          'Rate limit reached for requests. Please try again later.',
          'rate_limit_exceeded',
          null,
          'rate_limit_exceeded',
          { 'retry-after': retryAfter },
        ),
      };
    }
    return { kind: 'none' };
  }

  /** Whether one file download is cut off midway. */
  truncatesDownload(): boolean {
    const cut = this.draw(this.faults.truncateDownloads);
    if (cut) this.counts.truncated++;
    return cut;
  }

  private draw(probability: number | undefined): boolean {
    if (!probability) return false;
    return this.random() < probability;
  }
}

/** Small, fast 32-bit PRNG; quality is ample for fault sampling and shuffling results. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
