/**
 * anybatch's own metrics, recorded through the activity's Temporal metric meter: with ANYBATCH_METRICS_ADDRESS set the
 * worker's runtime exports them, beside the SDK's `temporal_*` metrics, on one Prometheus `/metrics` route (and
 * without it they cost nothing: the meter is a no-op). Names start with `anybatch_`; labels are bounded (provider,
 * the activity as the call, a result or outcome class), never a batch id or anything a user chooses.
 *
 * - `anybatch_provider_calls_total{provider, call, result}`: calls to a provider (`result` is `ok` or the failure's
 *   class: `provider_rate_limited`, `provider_unreachable`, ...), and `anybatch_provider_call_seconds{provider, call}`
 *   their durations.
 * - `anybatch_requests_total{provider, outcome}`: requests whose results were written (`succeeded`, `failed`).
 * - `anybatch_batches_merged_total{provider}`: batches whose results were merged (ended).
 * - `anybatch_cost_usd{provider}` (histogram; `_sum` is the spend): what those results cost at batch prices.
 * - `anybatch_admission_requests_total{provider, answer}`: parts asking admission control (`granted`, `queued`), and
 *   `anybatch_admission_ahead{provider}` (histogram) how many waited ahead of a queued one.
 * - `anybatch_webhook_deliveries_total{result}`: batch webhooks out (`delivered`, `failed` and retried, `refused`).
 */
import { Context } from '@temporalio/activity';
import type { MetricMeter } from '@temporalio/common';
import type { BatchResultFiles } from '../contract/batch';

function meter(): MetricMeter | null {
  try {
    return Context.current().metricMeter;
  } catch {
    return null; // outside an activity (a unit test calling an activity function): nothing to record
  }
}

/** The activity's own name: the provider call's label. */
function callName(): string {
  try {
    return Context.current().info.activityType;
  } catch {
    return 'unknown';
  }
}

/** Times one provider call, recording its result class. */
export async function measuredCall<T>(provider: string, fn: () => Promise<T>, resultOf: (err: unknown) => string): Promise<T> {
  const m = meter();
  const started = process.hrtime.bigint();
  const call = callName();
  let result = 'ok';
  try {
    return await fn();
  } catch (err) {
    result = resultOf(err);
    throw err;
  } finally {
    if (m) {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      m.createCounter('anybatch_provider_calls', 'calls', 'Calls to a provider by activity and result').add(1, { provider, call, result });
      m.createHistogram('anybatch_provider_call_seconds', 'float', 's', 'Duration of calls to a provider').record(seconds, { provider, call });
    }
  }
}

/** Records a batch's merged results: its requests by outcome, the batch, its cost. */
export function recordMerged(provider: string, files: BatchResultFiles): void {
  const m = meter();
  if (!m) return;
  const requests = m.createCounter('anybatch_requests', 'requests', 'Requests whose results were written, by outcome');
  requests.add(files.output_count, { provider, outcome: 'succeeded' });
  requests.add(files.errors_count, { provider, outcome: 'failed' });
  m.createCounter('anybatch_batches_merged', 'batches', 'Batches whose results were merged').add(1, { provider });
  if (files.cost && files.cost.total !== null && files.cost.total > 0) {
    m.createHistogram('anybatch_cost_usd', 'float', 'USD', 'What merged batches cost at batch prices').record(files.cost.total, { provider });
  }
}

/** Records one admission answer. */
export function recordAdmission(provider: string, granted: boolean, ahead: number): void {
  const m = meter();
  if (!m) return;
  m.createCounter('anybatch_admission_requests', 'requests', 'Parts asking admission control, by answer').add(1, { provider, answer: granted ? 'granted' : 'queued' });
  if (!granted) m.createHistogram('anybatch_admission_ahead', 'int', 'parts', 'How many waited ahead of a queued part').record(ahead, { provider });
}

/** Records one webhook delivery attempt's result. */
export function recordWebhook(result: 'delivered' | 'failed' | 'refused'): void {
  meter()?.createCounter('anybatch_webhook_deliveries', 'deliveries', 'Batch webhook delivery attempts, by result').add(1, { result });
}
