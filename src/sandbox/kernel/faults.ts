/** Injected failures for API requests (every provider's), drawn from a seeded PRNG so a run with a given seed repeats. */
import type { ServerResponse } from 'node:http';
import { ApiError } from './http';
import { stableHex } from './ids';
import type { SandboxFaults } from './settings';

const DEFAULT_SEED = 1;

const INJECTED = '(injected by the sandbox forceStatus fault)';

/** The error of the forceStatus fault, in OpenAI's terms (each provider renders it in its own shape). */
export function forcedStatusError(status: number, retryAfterSeconds = 1): ApiError {
  switch (status) {
    case 401:
      return new ApiError(401, `Incorrect API key provided ${INJECTED}.`, 'invalid_request_error', null, 'invalid_api_key');
    case 403:
      return new ApiError(403, `You are not allowed to perform this request with this API key ${INJECTED}.`, 'invalid_request_error', null, 'permission_denied');
    case 404:
      return new ApiError(404, `The requested resource was not found ${INJECTED}.`, 'invalid_request_error', null, 'not_found');
    case 429:
      return new ApiError(429, `Rate limit reached for requests ${INJECTED}. Please try again later.`, 'rate_limit_exceeded', null, 'rate_limit_exceeded', {
        'retry-after': String(retryAfterSeconds),
      });
    default:
      return status >= 500
        ? new ApiError(status, `The server had an error while processing your request ${INJECTED}.`, 'server_error', null, null)
        : new ApiError(status, `The request was refused with status ${status} ${INJECTED}.`, 'invalid_request_error', null, null);
  }
}

export type FaultDecision = { kind: 'none' } | { kind: 'drop' } | { kind: 'error'; error: ApiError };

export interface FaultCounts {
  rate429: number;
  rate500: number;
  drops: number;
  truncated: number;
  /** Create answers lost after the batch was made (`loseCreateResponses`). */
  lostCreates: number;
}

export class FaultInjector {
  readonly counts: FaultCounts = { rate429: 0, rate500: 0, drops: 0, truncated: 0, lostCreates: 0 };
  private faults: SandboxFaults = {};
  private random: () => number = mulberry32(DEFAULT_SEED);
  /** Create answers still to lose (`loseCreateResponses`, counted down). */
  private createLossesLeft = 0;

  constructor(faults: SandboxFaults) {
    this.set(faults);
  }

  /** Replaces every setting and restarts the PRNG, so the same settings give the same sequence. */
  set(faults: SandboxFaults): void {
    this.faults = { ...faults };
    this.random = mulberry32(faults.seed ?? DEFAULT_SEED);
    this.createLossesLeft = faults.loseCreateResponses ?? 0;
  }

  get current(): Readonly<SandboxFaults> {
    return this.faults;
  }

  /** What happens to one API request. */
  decide(): FaultDecision {
    if (this.faults.forceStatus !== undefined) {
      return { kind: 'error', error: forcedStatusError(this.faults.forceStatus, this.faults.retryAfterSeconds) };
    }
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

  /** The request fault of a batch being created now (null when the rate is unset or zero). */
  requestFault(): RequestFault | null {
    const rate = this.faults.requestFaultRate;
    if (!rate) return null;
    return { rate, seed: Math.floor(this.random() * 4294967296) };
  }

  /**
   * Called by every provider's create handler once the batch exists, before it answers: whether the answer is lost
   * (`loseCreateResponses`). A lost answer is a reset connection, or the `lostCreateStatus` error (thrown, so the
   * router renders it in the provider's shape). True: the handler must not answer.
   */
  losesCreateResponse(res: ServerResponse): boolean {
    if (this.createLossesLeft <= 0) return false;
    this.createLossesLeft--;
    this.counts.lostCreates++;
    const status = this.faults.lostCreateStatus;
    if (status !== undefined) {
      throw new ApiError(status, `The server had an error while processing your request (injected by the sandbox loseCreateResponses fault, after the batch was created).`, 'server_error');
    }
    res.destroy();
    return true;
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

/**
 * The request fault of one provider batch (`requestFaultRate`): which of its requests end as a 500 error line.
 * Each batch draws its own seed from the fault PRNG when it is created, so a request retried in another batch
 * is drawn again (independently), while every read of one batch agrees and a run with a given seed repeats.
 */
export interface RequestFault {
  rate: number;
  seed: number;
}

/** The message of a request failed by the request fault (each provider wraps it in its own error shape). */
export const REQUEST_FAULT_MESSAGE = 'The server had an error processing your request (injected by the sandbox requestFaultRate fault). Retry the request.';

/** Whether request `index` (0-based, in run order) of a batch with this fault fails. */
export function requestFaulted(fault: RequestFault | null, index: number): boolean {
  if (fault === null) return false;
  return parseInt(stableHex('request-fault', fault.seed, index).slice(0, 8), 16) / 4294967296 < fault.rate;
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
