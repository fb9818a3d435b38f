/**
 * Refused parts as a policy of the job workflow: a part the provider refused at create, or failed as a whole (its
 * batch `failed`), is read against the provider's failure table (`classifyPartFailure`) and then, by the pure
 * decision in ../part.ts: submitted again after a backoff (a queue limit), re-split into smaller parts (too large),
 * or settled with its failure. Workflow code.
 */
import { log } from '@temporalio/workflow';
import type { PartFailure } from '../../../contract/activities';
import type { Part, PartOutcome } from '../../../contract/part';
import { decideRefusal, nextIndex, planOf, replacements, requeued, type RefusalDecision } from '../part';
import { describeFailure, type Job } from '../runtime';

/** What became of a refused part: the parts now standing in its place (itself requeued, its re-split), or none. */
export async function reviewRefusal(job: Job, part: Part, outcome: PartOutcome): Promise<{ decision: RefusalDecision; parts: Part[] }> {
  const { spec } = job;
  const batch = part.phase === 'running' || part.phase === 'downloading' ? part.batch : null;
  let failure: PartFailure;
  try {
    failure = await job.quick.classifyPartFailure(spec, batch, batch ? null : outcome);
  } catch (err) {
    failure = { kind: null, reason: describeFailure(err).message, maxRequests: null }; // unread: the failure stands
  }
  const decision = decideRefusal(part, failure, outcome, Date.now(), spec.queueLimitRetry);
  if (decision.kind === 'settle') return { decision, parts: [] };
  try {
    // A new part (and so a new idempotency key): a create retried under the old key would find the refused batch.
    const maxRequests = decision.kind === 'resplit' ? decision.maxRequests : null;
    const made = replacements(part, await job.steps.repartitionPart(spec, planOf(part), nextIndex(job.parts), maxRequests));
    if (decision.kind === 'requeue') {
      log.info('part refused for a queue limit: submitted again after a wait', { batchId: spec.batchId, part: part.index, parts: made.map((p) => p.index), reason: failure.reason });
      return { decision, parts: requeued(made, decision.queued) };
    }
    log.info('part failed for its size: re-split', { batchId: spec.batchId, part: part.index, parts: made.map((p) => p.index), reason: failure.reason });
    return { decision, parts: made };
  } catch (err) {
    log.warn('a refused part could not be made again; it stays failed', { part: part.index, error: describeFailure(err).message });
    return { decision: { kind: 'settle', outcome }, parts: [] };
  }
}
