/**
 * What the `openai-compatible` adapter needs from the worker to run a part as an online batch: something that
 * starts, reads and cancels the part's online batch (a workflow on the worker's task queue). Types only: the
 * adapter (src/providers, which never imports Temporal) gets an `OnlineHost` in its `ProviderConnection`; the
 * activities give it one speaking Temporal (`activityOnlineHost` in src/activities/online.ts).
 */
import type { Batch } from '../contract/batch';
import type { BatchSpec, PartPlan } from '../contract/spec';

/** The online batch of one part of an anybatch batch. */
export interface OnlineBatchStart {
  /** The part's idempotency key (`<batch id>/<part>`): one online batch per key, ever. */
  idempotencyKey: string;
  spec: BatchSpec;
  part: PartPlan;
  /** Unix seconds at which the online batch was created. */
  createdAt: number;
  metadata: Record<string, string> | null;
}

export interface OnlineHost {
  /**
   * Starts the part's online batch, or finds the one an earlier call with the same key started (running or
   * ended: never a second one), and returns its id (the provider batch id).
   */
  start(batch: OnlineBatchStart): Promise<string>;
  /** The online batch in OpenAI's `Batch` shape, with live request counts while it runs. */
  read(id: string): Promise<Batch>;
  /** Stops its sending (idempotent): the requests not sent end as `batch_cancelled`. */
  cancel(id: string): Promise<void>;
}
