/** Human-readable renderings of a batch for the CLI. */
import type { AnybatchBatch } from '../batch';

export function summary(batch: AnybatchBatch): string {
  const c = batch.request_counts ?? { total: 0, completed: 0, failed: 0 };
  const lines = [
    `${batch.id}  ${batch.status}  ${batch.anybatch.provider} ${batch.endpoint}${batch.model ? `  ${batch.model}` : ''}`,
    `  requests: ${c.total} total, ${c.completed} completed, ${c.failed} failed`,
    `  created:  ${new Date(batch.created_at * 1000).toISOString()}`,
  ];
  const providerBatches = batch.anybatch.provider_batches;
  if (providerBatches.length > 0) lines.push(`  provider batches: ${providerBatches.map((b) => `${b.id} (${b.status})`).join(', ')}`);
  for (const e of batch.errors?.data ?? []) lines.push(`  error: ${e.code ?? 'error'}${e.line ? ` line ${e.line}` : ''}: ${e.message ?? ''}`);
  const retrying = retryLine(batch);
  if (retrying) lines.push(retrying);
  const r = batch.anybatch.results;
  if (r) {
    lines.push(`  output: ${r.output_path} (${r.output_count} lines)`);
    lines.push(`  errors: ${r.errors_path} (${r.errors_count} lines)`);
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

/** What shows under the progress bar while a step fails and is retried: the step, attempts, next try, the error. */
export function retryLine(batch: AnybatchBatch, now = Date.now()): string | null {
  const r = batch.anybatch.retrying;
  if (!r) return null;
  const next = r.next_at !== null ? `; next try in ${Math.max(0, Math.round(r.next_at - now / 1000))} s` : '';
  return `  retrying ${r.step} (${r.attempts} failed attempt${r.attempts === 1 ? '' : 's'}${next}): ${r.error}`;
}
