/**
 * `retryFailed` as a policy of the job workflow: once every part has its results, the requests of the last round
 * that failed with a retryable code go out again as the parts of a new round, up to the rounds asked for. The merge
 * then keeps each request's last outcome. Workflow code.
 */
import { log } from '@temporalio/workflow';
import type { Part } from '../../../contract/part';
import { nextIndex, plannedPart } from '../part';
import { lastRound } from '../view';
import type { Job } from '../runtime';

/** The parts of the next retry round (none when nothing is retryable, no round is left, or the batch is cancelled). */
export async function nextRetryRound(job: Job): Promise<Part[]> {
  const { spec, state } = job;
  const parts = job.parts;
  const round = lastRound(parts);
  if (!spec.retryFailed || state.cancelRequested || state.failure !== null || round >= spec.retryFailed.rounds) return [];
  const from = parts.filter((p) => p.round === round).flatMap((p) => (p.phase === 'done' ? [p.results] : []));
  const plans = await job.steps.planRetryRound(spec, { round: round + 1, from, firstIndex: nextIndex(parts) });
  if (plans.length > 0) {
    log.info('retrying failed requests', { batchId: spec.batchId, round: round + 1, requests: plans.reduce((a, p) => a + p.requestCount, 0), parts: plans.length });
  }
  return plans.map((plan) => plannedPart(plan, round + 1));
}
