/** Human-readable renderings of a batch (and of a dry run's plan) for the CLI. */
import type { AnybatchBatch } from '../contract/batch';
import type { CostRange } from '../cost';
import type { BatchCost } from '../contract/cost';
import type { BatchPlan } from '../cost/plan';
import type { TokenEstimate } from '../contract/tokens';
import { formatBytes } from '../validation/format';

export function summary(batch: AnybatchBatch): string {
  const c = batch.request_counts ?? { total: 0, completed: 0, failed: 0 };
  const lines = [
    `${batch.id}  ${batch.status}  ${batch.anybatch.provider} ${batch.endpoint}${batch.model ? `  ${batch.model}` : ''}`,
    `  requests: ${c.total} total, ${c.completed} completed, ${c.failed} failed`,
    `  created:  ${new Date(batch.created_at * 1000).toISOString()}`,
  ];
  const providerBatches = batch.anybatch.provider_batches;
  const omitted = batch.anybatch.provider_batches_omitted ?? 0;
  if (providerBatches.length > 0) lines.push(`  provider batches: ${providerBatches.map((b) => `${b.id} (${b.status})`).join(', ')}${omitted > 0 ? ` and ${omitted} more` : ''}`);
  for (const e of batch.errors?.data ?? []) lines.push(`  error: ${e.code ?? 'error'}${e.line ? ` line ${e.line}` : ''}: ${e.message ?? ''}`);
  const retrying = retryLine(batch);
  if (retrying) lines.push(retrying);
  const queued = queuedLine(batch);
  if (queued) lines.push(queued);
  const retries = retriesLine(batch);
  if (retries) lines.push(retries);
  const r = batch.anybatch.results;
  if (r) {
    lines.push(`  output: ${r.output_path} (${r.output_count} lines)`);
    lines.push(`  errors: ${r.errors_path} (${r.errors_count} lines)`);
  }
  const cost = batch.anybatch.cost;
  if (cost) lines.push(costLine(cost));
  return lines.join('\n');
}

/** Dollars: cents for a dollar or more, else to a millionth (a batch of a few requests costs fractions of a cent). */
export function usd(amount: number): string {
  return `$${amount >= 1 ? amount.toFixed(2) : amount.toFixed(6)}`;
}

function costLine(cost: BatchCost): string {
  if (cost.total === null) return `  cost:   unknown (${cost.reason})`;
  const models = cost.prices.map((p) => p.model).join(', ');
  return `  cost:   ${usd(cost.total)} (input ${usd(cost.input)}, cached ${usd(cost.cached)}, output ${usd(cost.output)}) at batch prices${models ? ` of ${models}` : ''}`;
}

const count = (n: number) => n.toLocaleString('en-US');
/** Per-part lines shown before the rest are summed up in one line. */
const PLAN_PART_LINES = 20;

function tokensText(t: TokenEstimate): string {
  const unbounded = t.withoutMaxOutput > 0 ? ` (${count(t.withoutMaxOutput)} request${t.withoutMaxOutput === 1 ? '' : 's'} set no output cap: unbounded)` : '';
  return `~${count(t.input)} input tokens, at most ${count(t.maxOutput)} output tokens${unbounded}`;
}

function rangeText(range: CostRange): string {
  if (range.min === null) return `unknown (${range.reason})`;
  return `${usd(range.min)} to ${range.max === null ? 'unbounded' : usd(range.max)}`;
}

/** A dry run's plan: requests, parts, estimated tokens and the cost range, per part and in total. */
export function planSummary(plan: BatchPlan): string {
  const counting = Object.entries(plan.token_counting).map(([model, how]) => `${model} (tokens: ${how})`).join(', ');
  const n = plan.parts.length;
  const lines = [
    `Dry run of ${plan.file}: nothing was started.`,
    `  ${plan.provider} ${plan.endpoint}, ${counting || 'no model'}`,
    `  requests: ${count(plan.requests)} (${formatBytes(plan.bytes)}) in ${n} part${n === 1 ? '' : 's'} (at most ${count(plan.limits.max_requests)} requests and ${formatBytes(plan.limits.max_bytes)} each)`,
  ];
  for (const part of plan.parts.slice(0, PLAN_PART_LINES)) {
    lines.push(`  part ${part.index}: ${count(part.requests)} requests, ${formatBytes(part.bytes)}, ${tokensText(part.estimated_tokens)}, ${rangeText(part.cost)}`);
  }
  if (n > PLAN_PART_LINES) lines.push(`  ... and ${n - PLAN_PART_LINES} more parts`);
  lines.push(`  total: ${tokensText(plan.total.estimated_tokens)}`);
  const cost = plan.total.cost;
  if (cost.min === null) {
    lines.push(`  estimated cost: unknown (${cost.reason})`);
  } else {
    const max = cost.max === null ? `unbounded (${cost.max_reason})` : `${usd(cost.max)} (input and every output cap)`;
    lines.push(`  estimated cost: ${usd(cost.min)} (input only) to ${max}, at batch prices:`);
    for (const p of cost.prices) {
      lines.push(`    ${p.model}: $${p.input_per_mtok} input, $${p.output_per_mtok} output per million tokens (${p.batch_discount * 100}% batch discount)`);
    }
  }
  return lines.join('\n');
}

export function listRow(batch: AnybatchBatch): string {
  const c = batch.request_counts ?? { total: 0, completed: 0, failed: 0 };
  const when = new Date(batch.created_at * 1000).toISOString().replace('T', ' ').slice(0, 19);
  return [batch.id.padEnd(28), batch.status.padEnd(11), batch.anybatch.provider.padEnd(10), `${c.completed + c.failed}/${c.total}`.padEnd(14), when].join(' ');
}

const WIDTH = 30;

/** One line of progress: a bar on terminals, plain text otherwise. */
export function progressLine(batch: AnybatchBatch): string {
  const c = batch.request_counts ?? { total: 0, completed: 0, failed: 0 };
  const done = c.completed + c.failed;
  const ratio = c.total > 0 ? Math.min(1, done / c.total) : 0;
  const filled = Math.round(ratio * WIDTH);
  const bar = '#'.repeat(filled) + '.'.repeat(WIDTH - filled);
  return `[${bar}] ${String(Math.round(ratio * 100)).padStart(3)}%  ${done}/${c.total} (${c.failed} failed)  ${batch.status}`;
}

/** Parts waiting to be submitted: how many, what for and why (and when the next refused one goes again). */
export function queuedLine(batch: AnybatchBatch, now = Date.now()): string | null {
  const q = batch.anybatch.queued;
  if (!q) return null;
  const parts = `${q.parts} part${q.parts === 1 ? '' : 's'}`;
  const what = q.cause === 'admission' ? 'waiting for admission' : 'refused for a queue limit, waiting to go again';
  const next = q.next_at !== null ? `; next in ${Math.max(0, Math.round(q.next_at - now / 1000))} s` : '';
  return `  queued:   ${parts} ${what}${next}: ${q.reason}`;
}

/** `retryFailed`: the rounds run of those asked for, the requests retried, and those each round recovered. */
export function retriesLine(batch: AnybatchBatch): string | null {
  const r = batch.anybatch.retries;
  if (!r) return null;
  const recovered = r.recovered_by_round.length > 0 ? `, recovered by round: ${r.recovered_by_round.map((n, i) => `${i + 1}: ${n}`).join(', ')}` : '';
  return `  retries:  ${r.rounds_run} of ${r.rounds} round${r.rounds === 1 ? '' : 's'} run, ${r.retried} request${r.retried === 1 ? '' : 's'} retried${recovered}`;
}

/** What shows under the progress bar while a step fails and is retried: the step, attempts, next try, the error. */
export function retryLine(batch: AnybatchBatch, now = Date.now()): string | null {
  const r = batch.anybatch.retrying;
  if (!r) return null;
  const next = r.next_at !== null ? `; next try in ${Math.max(0, Math.round(r.next_at - now / 1000))} s` : '';
  return `  retrying ${r.step} (${r.attempts} failed attempt${r.attempts === 1 ? '' : 's'}${next}): ${r.error}`;
}
