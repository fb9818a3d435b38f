/**
 * What the Temporal Web UI shows of a batch with no set-up: a one-line summary and a details table, fixed at
 * start (user metadata), and the current details, updated with each change of progress. Pure functions,
 * bundled into workflow code.
 *
 * The Web UI renders all three as Markdown, so every value anybatch does not choose itself (batch and provider batch
 * ids, statuses, messages, file and model names, metadata) goes through `literal`: it reads as the text it is, and
 * no link, image, HTML, emphasis or table cell can start in it.
 */
import type { AnybatchBatch } from '../contract/batch';
import type { BatchSpec } from '../contract/spec';

/** Longest value shown (a longer one is cut, marked `…`). */
const MAX_SHOWN = 300;
/** Provider batches listed by the current details (the others are counted). */
const MAX_LISTED_BATCHES = 20;

/**
 * Markdown escaping (what can start Markdown or HTML in a value): the characters of inline syntax (`\`, `` ` ``, `*`,
 * `~`, `[`, `]`, `<`, `>`, `&`, `!`, `|`, `@`), `_` at the edge of a word (inside one it is inert), and what would
 * make bare text a link in a renderer that links URLs (`://`, `//`, `www.`).
 */
const SPECIAL = /[\\`*~[\]<>&!|@]|(?<![\p{L}\p{N}])_|_(?![\p{L}\p{N}])|:(?=\/\/)|\/(?=\/)|(?<=\/)\/|(?<=www)\./giu;

/**
 * A value anybatch does not choose, as Markdown that shows it as it is: on one line (line endings and other control
 * characters become spaces), at most `MAX_SHOWN` characters, with what could start Markdown or HTML backslash-escaped
 * (CommonMark: any ASCII punctuation may be). Ordinary text (`gpt-4o-mini`, `/home/me/in.jsonl`, `batch_abc`) reads
 * unchanged.
 */
export function literal(value: unknown, max = MAX_SHOWN): string {
  let text = (typeof value === 'string' ? value : String(value)).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ');
  if (text.length > max) {
    const cut = text.slice(0, max);
    text = `${/[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut}…`;
  }
  return text.replace(SPECIAL, '\\$&');
}

/** `openai · gpt-4o-mini · 20 requests · /v1/chat/completions`: the list's summary of a batch. */
export function staticSummary(spec: BatchSpec): string {
  const model = spec.input.model === null ? 'several models' : literal(spec.input.model);
  const count = spec.input.requestCount;
  return `${literal(spec.provider)} · ${model} · ${literal(count)} request${count === 1 ? '' : 's'} · ${literal(spec.endpoint)}`;
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
  for (const [k, v] of Object.entries(spec.metadata ?? {})) rows.push([`metadata.${literal(k)}`, v]);
  return ['| | |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${literal(v)} |`)].join('\n');
}

/** Progress as Markdown: status, counts, each provider batch, a retried step, queued parts, retry rounds or a failure. */
export function currentDetails(batch: AnybatchBatch): string {
  const c = batch.request_counts ?? { total: 0, completed: 0, failed: 0 };
  const n = (value: number) => literal(value);
  const lines = [`**${literal(batch.status)}**: ${n(c.completed + c.failed)} of ${n(c.total)} requests done (${n(c.completed)} succeeded, ${n(c.failed)} failed)`];
  const parts = batch.anybatch.provider_batches;
  const more = parts.length - MAX_LISTED_BATCHES + (batch.anybatch.provider_batches_omitted ?? 0);
  if (parts.length > 0) {
    const listed = parts.slice(0, MAX_LISTED_BATCHES).map((p) => `${literal(p.id)} (${literal(p.status)})`);
    lines.push('', `provider batches: ${listed.join(', ')}${more > 0 ? ` and ${more} more` : ''}`);
  }
  const r = batch.anybatch.retrying;
  if (r) lines.push('', `retrying ${literal(r.step)} (${n(r.attempts)} failed attempt${r.attempts === 1 ? '' : 's'}): ${literal(r.error)}`);
  const q = batch.anybatch.queued;
  if (q) {
    const what = q.cause === 'admission' ? 'waiting for admission' : 'refused for a queue limit, waiting to go again';
    lines.push('', `queued: ${n(q.parts)} part${q.parts === 1 ? '' : 's'} ${what}: ${literal(q.reason)}`);
  }
  const t = batch.anybatch.retries;
  if (t) {
    const recovered = t.recovered_by_round.map((count, i) => `round ${i + 1}: ${n(count)} recovered`).join(', ');
    lines.push('', `retry rounds: ${n(t.rounds_run)} of ${n(t.rounds)} run, ${n(t.retried)} requests retried${recovered ? ` (${recovered})` : ''}`);
  }
  if (batch.anybatch.failure) lines.push('', `failure: ${literal(batch.anybatch.failure)}`);
  const results = batch.anybatch.results;
  if (results) lines.push('', `results: ${literal(results.output_path)} (${n(results.output_count)} lines), ${literal(results.errors_path)} (${n(results.errors_count)} lines)`);
  return lines.join('\n');
}
