/**
 * What the Temporal Web UI shows of a batch with no set-up: a one-line summary and a details table, fixed at
 * start (user metadata), and the current details, updated with each change of progress. Pure functions,
 * bundled into workflow code.
 */
import type { AnybatchBatch } from '../contract/batch';
import type { BatchSpec } from '../contract/spec';

/** `openai · gpt-4o-mini · 20 requests · /v1/chat/completions`: the list's summary of a batch. */
export function staticSummary(spec: BatchSpec): string {
  const model = spec.input.model ?? 'several models';
  return `${spec.provider} · ${model} · ${spec.input.requestCount} request${spec.input.requestCount === 1 ? '' : 's'} · ${spec.endpoint}`;
}

function cell(value: string): string {
  return value.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** A Markdown table of what the batch is: provider, model, endpoint, requests, window, metadata, where its files go. */
export function staticDetails(spec: BatchSpec, inputFile: string): string {
  const rows: [string, string][] = [
    ['batch', spec.batchId],
    ['provider', spec.provider],
    ['model', spec.input.model ?? 'several (see the input)'],
    ['endpoint', spec.endpoint],
    ['requests', String(spec.input.requestCount)],
    ['completion window', spec.completionWindow],
    ['input', inputFile],
    ['results', spec.resultsDir],
  ];
  for (const [k, v] of Object.entries(spec.metadata ?? {})) rows.push([`metadata.${k}`, v]);
  return ['| | |', '|---|---|', ...rows.map(([k, v]) => `| ${cell(k)} | ${cell(v)} |`)].join('\n');
}

/** Progress as Markdown: status, counts, each provider batch, a retried step, queued parts, retry rounds or a failure. */
export function currentDetails(batch: AnybatchBatch): string {
  const c = batch.request_counts ?? { total: 0, completed: 0, failed: 0 };
  const lines = [`**${batch.status}**: ${c.completed + c.failed} of ${c.total} requests done (${c.completed} succeeded, ${c.failed} failed)`];
  const parts = batch.anybatch.provider_batches;
  if (parts.length > 0) lines.push('', `provider batches: ${parts.map((p) => `${p.id} (${p.status})`).join(', ')}`);
  const r = batch.anybatch.retrying;
  if (r) lines.push('', `retrying ${r.step} (${r.attempts} failed attempt${r.attempts === 1 ? '' : 's'}): ${r.error}`);
  const q = batch.anybatch.queued;
  if (q) {
    const what = q.cause === 'admission' ? 'waiting for admission' : 'refused for a queue limit, waiting to go again';
    lines.push('', `queued: ${q.parts} part${q.parts === 1 ? '' : 's'} ${what}: ${q.reason}`);
  }
  const t = batch.anybatch.retries;
  if (t) {
    const recovered = t.recovered_by_round.map((n, i) => `round ${i + 1}: ${n} recovered`).join(', ');
    lines.push('', `retry rounds: ${t.rounds_run} of ${t.rounds} run, ${t.retried} requests retried${recovered ? ` (${recovered})` : ''}`);
  }
  if (batch.anybatch.failure) lines.push('', `failure: ${batch.anybatch.failure}`);
  const results = batch.anybatch.results;
  if (results) lines.push('', `results: ${results.output_path} (${results.output_count} lines), ${results.errors_path} (${results.errors_count} lines)`);
  return lines.join('\n');
}
