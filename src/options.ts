/**
 * The options of the public API: their types (common and per provider) and their parsing. Every option is
 * checked before anything starts: an unknown name is a `UsageError` naming it (and the closest known name),
 * a known one of the wrong type is a `UsageError` naming the option. Each provider's own options (type, names,
 * checks) come from its definition in the registry. No side effects.
 */
import { msToNumber } from '@temporalio/common/lib/time';
import { UsageError } from './errors';
import { batchIdProblem } from './storage/keys';
import { REGISTRY, isProviderName, providerDefinition, unknownProvider } from './providers/registry';
import { DEFAULT_RETRY_CODES, MAX_RETRY_ROUNDS, retryCodeProblem } from './results/retryable';
import { budgetProblem, type BudgetOverrides } from './admission/budget';
import type { ProviderName, ProviderOptionsMap } from './providers/registry';
import type { TemporalOptions } from './temporal/client';

export type { AnthropicOptions } from './providers/anthropic/options';
export type { AzureOpenAIOptions } from './providers/azureopenai/options';
export type { GeminiOptions } from './providers/gemini/options';
export type { GroqOptions } from './providers/groq';
export type { MistralOptions } from './providers/mistral';
export type { OpenAIOptions } from './providers/openai/options';
export type { TogetherOptions } from './providers/together';
export type { XaiOptions } from './providers/xai';
export type { ProviderName };

export interface ClientOptions {
  /** Where Temporal is (default: TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE, then 127.0.0.1:7233, `default`). */
  temporal?: TemporalOptions;
  /** Task queue the anybatch worker listens on (default: ANYBATCH_TASK_QUEUE, then `anybatch`). */
  taskQueue?: string;
}

/** The options of `createBatch` that every provider takes. */
export interface CommonCreateOptions extends ClientOptions {
  /** One of the provider's windows (default `24h`): `24h` only, except Groq's `24h` to `7d` (e.g. `48h`, `7d`). */
  completionWindow?: string;
  /** Your key/value pairs, stored on the batch (and on the provider batch). */
  metadata?: Record<string, string>;
  /** Provider API key for this batch; default: the worker's environment (e.g. OPENAI_API_KEY). Sealed in transit. */
  apiKey?: string;
  /** Provider base URL (e.g. the sandbox's); default: the worker's environment (e.g. OPENAI_BASE_URL). */
  apiBase?: string;
  /** Passed to the provider SDK client's constructor (JSON values only). Sealed in transit, like apiKey. */
  clientArgs?: Record<string, unknown>;
  /** How often the provider is polled: a duration such as `30s` or milliseconds (default 30s). */
  pollInterval?: string | number;
  /**
   * How long a failing step before the provider accepted the batch (plan, upload, create) is retried before
   * the batch fails: a duration such as `10m` or milliseconds (default 10m).
   */
  retryTimeout?: string | number;
  /**
   * Folder for output.jsonl and errors.jsonl (default `$ANYBATCH_HOME/results/<batch id>`). Only with a local folder
   * store: with ANYBATCH_STORAGE=s3://... results live in the store (read them with `retrieveBatchResults`).
   */
  resultsDir?: string;
  /** Use this batch id instead of a generated one (it is the workflow id; must be unique). */
  batchId?: string;
  /** Resolve as soon as the workflow started, without waiting for the provider to accept the batch. */
  noWait?: boolean;
  /**
   * Publish progress as search attributes for the Web UI (default true; the worker registers them). Set false
   * on a cluster where they cannot be registered: status then lives in the memo and the `status` query only.
   */
  searchAttributes?: boolean;
  /** At most this many requests per provider batch (default and ceiling: the provider's limit). */
  maxRequestsPerPart?: number;
  /** At most this many bytes sent per provider batch (default and ceiling: the provider's limit). */
  maxBytesPerPart?: number;
  /** Provider batches submitted at once when the input is split (default 4). */
  submitConcurrency?: number;
  /**
   * Resubmit the requests that failed with a retryable error, in follow-up provider batches, up to `rounds` times
   * (at most 10). `codes` says which failures are retryable (default: `429`, `5xx`, `timeout`, `batch_expired`; see
   * src/results/retryable.ts); `batch_cancelled` is never retried. Each request's final outcome is written once.
   */
  retryFailed?: RetryFailedOptions;
  /**
   * A part the provider refuses for a queue limit (OpenAI's `token_limit_exceeded`, a 429 at create whose retries ran
   * out) waits and is submitted again: first after `initialDelay` (default 1m), each wait doubling up to `maxDelay`
   * (30m), until `giveUpAfter` (24h) after its first refusal, when it fails with the provider's reason. Durations
   * such as `"1m"`, or milliseconds.
   */
  queueLimitRetry?: QueueLimitRetryOptions;
  /**
   * How long the batch waits for what it cannot hurry (durations such as `"6h"`, or milliseconds):
   * `progressInterval` (30m): how often a change of counts alone is recorded (statuses at once); `deadlineGrace` (6h):
   * how long a provider batch may stay unfinished past its completion window before it is cancelled; `cancelGrace`
   * (6h): how long after a cancel before a part that still has not ended is given up with whatever exists;
   * `resultsRetention` (30 days): how long downloading results is retried (as long as the provider keeps them);
   * `statusFailureBound` (24h): how long reading a part's status may fail before that part is given up.
   */
  bounds?: BoundsOptions;
  /**
   * Admission control: at most this much in flight at the provider at once, for this batch's provider connection and
   * model, shared with every batch and worker using it. Each measure is a positive integer, or null for no limit;
   * a measure not given comes from the worker's `ANYBATCH_ADMISSION`, else from the provider's published limits.
   * Parts over the budget wait (`anybatch.queued`) until earlier provider batches end.
   */
  admission?: AdmissionOptions;
  /**
   * Where to POST a signed Standard Webhooks event (`anybatch.batch.completed|failed|cancelled|expired`, with the
   * batch) once the batch ends and its results are written: at least once, retried with backoff, signed with the
   * worker's ANYBATCH_WEBHOOK_SECRET. An `http(s)` URL; private and loopback targets are refused by the worker unless
   * its ANYBATCH_WEBHOOK_ALLOW_PRIVATE=1.
   */
  webhook?: WebhookOptions;
}

export interface WebhookOptions {
  url: string;
}

export interface AdmissionOptions {
  /** Prompt tokens (estimated) of the provider batches enqueued at once (OpenAI's enqueued token limit). */
  enqueuedTokens?: number | null;
  /** Requests in the provider batches in flight at once. */
  requests?: number | null;
  /** Provider batches in flight at once. */
  batches?: number | null;
}

export interface QueueLimitRetryOptions {
  initialDelay?: string | number;
  maxDelay?: string | number;
  giveUpAfter?: string | number;
}

export interface RetryFailedOptions {
  rounds: number;
  codes?: string[];
}

/**
 * Each provider's own options, by provider name (from the registry): `openai: OpenAIOptions`, `anthropic:
 * AnthropicOptions`, `azureopenai: AzureOpenAIOptions`, `groq: GroqOptions`.
 */
export type ProviderOptions = ProviderOptionsMap;

/** The options of `createBatch(provider, ...)`: the common ones and provider `P`'s own (no others). */
export type CreateBatchOptions<P extends ProviderName = ProviderName> = CommonCreateOptions & ProviderOptions[P];

const CLIENT_OPTION_NAMES = ['temporal', 'taskQueue'] as const satisfies readonly (keyof ClientOptions)[];
const COMMON_NAMES: Record<keyof CommonCreateOptions, true> = {
  temporal: true,
  taskQueue: true,
  completionWindow: true,
  metadata: true,
  apiKey: true,
  apiBase: true,
  clientArgs: true,
  pollInterval: true,
  retryTimeout: true,
  resultsDir: true,
  batchId: true,
  noWait: true,
  searchAttributes: true,
  maxRequestsPerPart: true,
  maxBytesPerPart: true,
  submitConcurrency: true,
  retryFailed: true,
  queueLimitRetry: true,
  bounds: true,
  admission: true,
  webhook: true,
};
/** Names of the common options of `createBatch`. */
export const COMMON_CREATE_OPTION_NAMES = Object.keys(COMMON_NAMES) as readonly (keyof CommonCreateOptions)[];
const TEMPORAL_OPTION_NAMES = ['address', 'namespace', 'client', 'connectTimeoutMs'] as const satisfies readonly (keyof TemporalOptions)[];

export const DEFAULT_POLL_INTERVAL_MS = 30_000;
/** The default poll of a provider whose batch webhooks reach anybatch's receiver: polling is then only the safety net. */
export const WEBHOOK_POLL_INTERVAL_MS = 10 * 60_000;
/** Providers whose batch webhooks anybatch receives (src/webhooks/receiver.ts). */
export const WEBHOOK_PROVIDERS: readonly string[] = ['openai', 'gemini'];
/** The variable that says which providers' webhooks reach this deployment's receiver (comma-separated). */
export const PROVIDER_WEBHOOKS_ENV = 'ANYBATCH_PROVIDER_WEBHOOKS';

/**
 * The poll interval a batch gets when it names none: 30 seconds, or 10 minutes for a provider listed in
 * ANYBATCH_PROVIDER_WEBHOOKS (its webhooks wake the batch at once; polls only catch a lost event).
 */
export function defaultPollIntervalMs(provider: string, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[PROVIDER_WEBHOOKS_ENV];
  if (raw === undefined || raw.trim() === '') return DEFAULT_POLL_INTERVAL_MS;
  const listed = raw.split(',').map((p) => p.trim()).filter(Boolean);
  const unknown = listed.filter((p) => !WEBHOOK_PROVIDERS.includes(p));
  if (unknown.length > 0) {
    throw new UsageError(`${PROVIDER_WEBHOOKS_ENV}=${raw}: ${unknown.map((p) => JSON.stringify(p)).join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not a provider whose webhooks anybatch receives (only ${WEBHOOK_PROVIDERS.join(', ')}).`);
  }
  return listed.includes(provider) ? WEBHOOK_POLL_INTERVAL_MS : DEFAULT_POLL_INTERVAL_MS;
}

/** The provider name, checked: an unknown one is a `UsageError` listing the supported ones. */
export function checkProvider(provider: unknown): ProviderName {
  if (isProviderName(provider)) return provider;
  throw unknownProvider(provider);
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}

/** The known name closest to `name`, when close enough to be a typo. */
export function closestName(name: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = k.toLowerCase() === name.toLowerCase() ? 0 : distance(name.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best !== null && bestDistance <= Math.max(1, Math.min(3, Math.floor(best.length / 3))) ? best : null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Checks that `options` is an object holding only `known` names. `where` names the call in messages, e.g.
 * `createBatch (openai)`; `prefix` is prepended to nested names (`temporal.`); `elsewhere` maps names of
 * options that belong to another context (another provider) to that context, for a better hint.
 */
export function checkOptionNames(
  options: unknown,
  known: readonly string[],
  where: string,
  opts: { prefix?: string; elsewhere?: Record<string, string> } = {},
): Record<string, unknown> {
  const prefix = opts.prefix ?? '';
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new UsageError(`${prefix ? `${prefix.slice(0, -1)}` : 'The options'} of ${where} must be an object (got ${Array.isArray(options) ? 'an array' : typeof options}).`);
  }
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue;
    const other = opts.elsewhere?.[name];
    const close = closestName(name, known);
    const hint = other ? `; it is an option of ${other}` : close ? `; did you mean "${prefix}${close}"?` : `; known options: ${known.map((k) => prefix + k).join(', ')}.`;
    throw new UsageError(`Unknown option "${prefix}${name}" for ${where}${hint}`);
  }
  return options as Record<string, unknown>;
}

/** A duration option (`"30s"`, `"10m"`, or milliseconds) in milliseconds; `fallback` when absent. */
export function durationMs(value: unknown, name: string, fallback: number): number;
export function durationMs(value: unknown, name: string, fallback?: number): number | undefined;
export function durationMs(value: unknown, name: string, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  let ms: number;
  try {
    ms = typeof value === 'number' ? value : typeof value === 'string' ? msToNumber(value as Parameters<typeof msToNumber>[0]) : NaN;
  } catch {
    ms = NaN;
  }
  if (!Number.isFinite(ms) || ms <= 0) throw new UsageError(`${name} must be a positive duration such as "30s" or "1m" (got ${JSON.stringify(value)}).`);
  return ms;
}

/** A positive integer option, or null when absent. */
export function positiveOption(value: unknown, name: string): number | null {
  if (value === undefined) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new UsageError(`${name} must be a positive integer (got ${JSON.stringify(value)}).`);
  return value;
}

function stringOption(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new UsageError(`${name} must be a non-empty string (got ${describeValue(value)}).`);
  return value;
}

function booleanOption(value: unknown, name: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new UsageError(`${name} must be true or false (got ${describeValue(value)}).`);
  return value;
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || Array.isArray(value)) return value === null ? 'null' : 'an array';
  if (typeof value === 'object') return 'an object';
  return typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint' ? `a ${typeof value}` : String(value);
}

/**
 * anybatch's own bound on `metadata`, for every provider: OpenAI's limits (16 pairs, keys of at most 64 characters,
 * values of at most 512) and at most 16 KiB in all, as JSON. Metadata is stored on the batch and travels in its memo
 * with every progress update, so it is bounded even for providers whose batches carry none. A provider's own limits
 * (its definition's `capabilities.metadata`, less its reserved keys) apply as well: the stricter wins.
 */
export const METADATA_BOUND = { maxPairs: 16, maxKeyLength: 64, maxValueLength: 512, maxTotalBytes: 16 * 1024 } as const;

/** A metadata key as messages show it: cut when it is long, so a huge key never makes a huge message. */
function shownKey(key: string): string {
  return key.length > 80 ? `${key.slice(0, 80)}…` : key;
}

function checkMetadata(provider: ProviderName, metadata: unknown): Record<string, string> | null {
  if (metadata === undefined) return null;
  if (!isPlainObject(metadata)) throw new UsageError(`metadata must be an object of string values (got ${describeValue(metadata)}).`);
  const { capabilities, reservedMetadata } = providerDefinition(provider);
  const limits = capabilities.metadata;
  const bound = METADATA_BOUND;
  const ours = " (anybatch's limit for every provider)";
  const entries = Object.entries(metadata);
  for (const [k, v] of entries) {
    if (typeof v !== 'string') throw new UsageError(`metadata.${shownKey(k)} must be a string (got ${describeValue(v)}).`);
    if (reservedMetadata.includes(k)) throw new UsageError(`metadata key "${k}" is reserved: anybatch writes it on ${provider} batches.`);
    if (limits && limits.maxKeyLength <= bound.maxKeyLength && k.length > limits.maxKeyLength) throw new UsageError(`metadata key "${shownKey(k)}" is longer than ${limits.maxKeyLength} characters.`);
    if (k.length > bound.maxKeyLength) throw new UsageError(`metadata key "${shownKey(k)}" is longer than ${bound.maxKeyLength} characters${ours}.`);
    if (limits && limits.maxValueLength <= bound.maxValueLength && v.length > limits.maxValueLength) throw new UsageError(`metadata.${shownKey(k)} is longer than ${limits.maxValueLength} characters.`);
    if (v.length > bound.maxValueLength) throw new UsageError(`metadata.${shownKey(k)} is longer than ${bound.maxValueLength} characters${ours}.`);
  }
  const reserved = reservedMetadata.length;
  if (limits && limits.maxPairs - reserved <= bound.maxPairs && entries.length > limits.maxPairs - reserved) {
    const uses = reserved === 0 ? '' : ` (anybatch uses ${reserved === 1 ? 'one' : reserved})`;
    throw new UsageError(`metadata has ${entries.length} pairs; ${provider} allows ${limits.maxPairs - reserved}${uses}.`);
  }
  if (entries.length > bound.maxPairs) throw new UsageError(`metadata has ${entries.length} pairs; anybatch allows at most ${bound.maxPairs} for every provider.`);
  const bytes = Buffer.byteLength(JSON.stringify(metadata), 'utf8');
  if (bytes > bound.maxTotalBytes) {
    throw new UsageError(`metadata takes ${bytes} bytes as JSON; anybatch allows at most ${bound.maxTotalBytes} (${bound.maxTotalBytes / 1024} KiB) for every provider.`);
  }
  return entries.length > 0 ? { ...(metadata as Record<string, string>) } : null;
}

/** `clientArgs` travel sealed as JSON: functions, symbols, bigints and class instances would be lost on the way. */
function checkJsonValue(value: unknown, name: string, depth = 0): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new UsageError(`${name} must be a finite number (clientArgs travel as JSON).`);
    return;
  }
  if (depth > 20) throw new UsageError(`${name} is nested too deeply (clientArgs travel as JSON).`);
  if (Array.isArray(value)) return value.forEach((v, i) => checkJsonValue(v, `${name}[${i}]`, depth + 1));
  if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) if (v !== undefined) checkJsonValue(v, `${name}.${k}`, depth + 1);
    return;
  }
  throw new UsageError(`${name} must be a JSON value (got ${describeValue(value)}): clientArgs travel sealed as JSON to the worker.`);
}

function checkClientArgs(value: unknown): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) throw new UsageError(`clientArgs must be an object (got ${describeValue(value)}).`);
  checkJsonValue(value, 'clientArgs');
  return value;
}

/** `temporal` and `taskQueue`, checked; `where` names the call in messages. */
export function parseClientOptions(options: Record<string, unknown>, where: string): ClientOptions {
  const out: ClientOptions = {};
  if (options.temporal !== undefined) {
    if (!isPlainObject(options.temporal)) throw new UsageError(`temporal must be an object { address, namespace, client } (got ${describeValue(options.temporal)}).`);
    const temporal = checkOptionNames(options.temporal, TEMPORAL_OPTION_NAMES, where, { prefix: 'temporal.' });
    stringOption(temporal.address, 'temporal.address');
    stringOption(temporal.namespace, 'temporal.namespace');
    if (temporal.client !== undefined && (typeof temporal.client !== 'object' || temporal.client === null)) {
      throw new UsageError(`temporal.client must be a Temporal Client (got ${describeValue(temporal.client)}).`);
    }
    out.temporal = temporal as TemporalOptions;
  }
  const queue = stringOption(options.taskQueue, 'taskQueue');
  if (queue !== undefined) out.taskQueue = queue;
  return out;
}

/**
 * Checks options of a call that takes `ClientOptions` plus `extra` names (e.g. `wait`), and returns them
 * typed. `where` names the call in messages.
 */
export function checkClientOptions<T extends ClientOptions>(options: T | undefined, where: string, extra: readonly string[] = []): T {
  const checked = checkOptionNames(options, [...CLIENT_OPTION_NAMES, ...extra], where);
  parseClientOptions(checked, where);
  return checked as T;
}

/** `createBatch`'s options, checked and resolved (defaults applied where anybatch owns them). */
export interface ParsedCreateOptions extends ClientOptions {
  completionWindow: string;
  metadata: Record<string, string> | null;
  apiKey?: string;
  apiBase: string | null;
  clientArgs?: Record<string, unknown>;
  pollIntervalMs: number;
  /** Absent when not given: the workflow applies its default. */
  retryTimeoutMs?: number;
  resultsDir?: string;
  batchId?: string;
  noWait: boolean;
  searchAttributes: boolean;
  maxRequestsPerPart: number | null;
  maxBytesPerPart: number | null;
  submitConcurrency?: number;
  /** `retryFailed` with its default codes applied; absent: failed requests are not resubmitted. */
  retryFailed?: { rounds: number; codes: string[] };
  /** `bounds` in milliseconds, only those given (the workflow applies its defaults to the rest). */
  bounds?: ParsedBounds;
  /** `queueLimitRetry` in milliseconds, with the defaults; absent when not given (the workflow applies the same). */
  queueLimitRetry?: { initialMs: number; maxMs: number; giveUpAfterMs: number };
  /** `admission`, checked (only the measures given); absent when not given. */
  admission?: BudgetOverrides;
  /** `webhook`, checked (an http(s) URL without credentials); absent when not given. */
  webhook?: WebhookOptions;
  /** The provider's own options, checked (only those given). */
  providerOptions: Record<string, unknown>;
}

/** `retryFailed`, checked, with the default codes when none are given. */
export function checkRetryFailed(value: unknown): { rounds: number; codes: string[] } | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) throw new UsageError(`retryFailed must be an object { rounds, codes? } (got ${describeValue(value)}).`);
  checkOptionNames(value, ['rounds', 'codes'], 'createBatch', { prefix: 'retryFailed.' });
  const { rounds, codes } = value as { rounds?: unknown; codes?: unknown };
  if (typeof rounds !== 'number' || !Number.isInteger(rounds) || rounds < 1 || rounds > MAX_RETRY_ROUNDS) {
    throw new UsageError(`retryFailed.rounds must be an integer from 1 to ${MAX_RETRY_ROUNDS} (got ${describeValue(rounds)}).`);
  }
  if (codes === undefined) return { rounds, codes: [...DEFAULT_RETRY_CODES] };
  if (!Array.isArray(codes) || codes.length === 0) throw new UsageError(`retryFailed.codes must be a non-empty array of codes such as "429", "5xx", "timeout", "batch_expired" (got ${describeValue(codes)}).`);
  codes.forEach((code, i) => {
    const problem = retryCodeProblem(code);
    if (problem) throw new UsageError(`retryFailed.codes[${i}]: ${problem}.`);
  });
  return { rounds, codes: [...new Set(codes as string[])] };
}

export interface BoundsOptions {
  progressInterval?: string | number;
  deadlineGrace?: string | number;
  cancelGrace?: string | number;
  resultsRetention?: string | number;
  statusFailureBound?: string | number;
}

export interface ParsedBounds {
  progressIntervalMs?: number;
  deadlineGraceMs?: number;
  cancelGraceMs?: number;
  resultsRetentionMs?: number;
  statusFailureBoundMs?: number;
}

/** `bounds`, checked, in milliseconds: only the ones given. */
export function checkBounds(value: unknown): ParsedBounds | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) throw new UsageError(`bounds must be an object { progressInterval?, deadlineGrace?, cancelGrace?, resultsRetention?, statusFailureBound? } (got ${describeValue(value)}).`);
  const names = ['progressInterval', 'deadlineGrace', 'cancelGrace', 'resultsRetention', 'statusFailureBound'] as const;
  const o = checkOptionNames(value, [...names], 'createBatch', { prefix: 'bounds.' });
  const parsed: ParsedBounds = {};
  for (const name of names) {
    const ms = durationMs(o[name], `bounds.${name}`);
    if (ms !== undefined) parsed[`${name}Ms`] = ms;
  }
  return parsed;
}

/** `queueLimitRetry`, checked, in milliseconds (defaults: 1m, 30m, 24h). */
export function checkQueueLimitRetry(value: unknown): { initialMs: number; maxMs: number; giveUpAfterMs: number } | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) throw new UsageError(`queueLimitRetry must be an object { initialDelay?, maxDelay?, giveUpAfter? } (got ${describeValue(value)}).`);
  const o = checkOptionNames(value, ['initialDelay', 'maxDelay', 'giveUpAfter'], 'createBatch', { prefix: 'queueLimitRetry.' });
  const initialMs = durationMs(o.initialDelay, 'queueLimitRetry.initialDelay', 60_000);
  const maxMs = durationMs(o.maxDelay, 'queueLimitRetry.maxDelay', Math.max(30 * 60_000, initialMs));
  if (maxMs < initialMs) throw new UsageError(`queueLimitRetry.maxDelay (${maxMs} ms) is shorter than queueLimitRetry.initialDelay (${initialMs} ms).`);
  return { initialMs, maxMs, giveUpAfterMs: durationMs(o.giveUpAfter, 'queueLimitRetry.giveUpAfter', 24 * 3600_000) };
}

/** `admission`, checked: an object of `enqueuedTokens`, `requests`, `batches`, each a positive integer or null. */
export function checkAdmission(value: unknown): BudgetOverrides | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) throw new UsageError(`admission must be an object { enqueuedTokens?, requests?, batches? } (got ${describeValue(value)}).`);
  const o = checkOptionNames(value, ['enqueuedTokens', 'requests', 'batches'], 'createBatch', { prefix: 'admission.' });
  const given = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as BudgetOverrides;
  const problem = budgetProblem(given, 'admission');
  if (problem) throw new UsageError(problem);
  return given;
}

/** The batch's `completion_window`: one of the provider's (default: its first, `24h`). */
export function checkCompletionWindow(provider: ProviderName, window: string | undefined): string {
  const windows = providerDefinition(provider).capabilities.completionWindows;
  if (window === undefined) return windows[0];
  if (windows.includes(window)) return window;
  const choices = windows.length === 1 ? windows[0] : `one of ${windows.join(', ')}`;
  throw new UsageError(`completionWindow "${window}" is not supported by ${provider}; use ${choices}.`);
}

/** Checks every option of `createBatch(provider, ...)` before anything starts. */
export function parseCreateOptions(provider: ProviderName, options: unknown): ParsedCreateOptions {
  const definition = providerDefinition(provider);
  const spec = definition.options;
  const elsewhere: Record<string, string> = {};
  for (const other of Object.values(REGISTRY)) if (other.name !== provider) for (const name of other.options.names) elsewhere[name] ??= other.name;
  const o = checkOptionNames(options, [...COMMON_CREATE_OPTION_NAMES, ...spec.names], `createBatch (${provider})`, { elsewhere });

  const completionWindow = checkCompletionWindow(provider, stringOption(o.completionWindow, 'completionWindow'));
  const batchId = typeof o.batchId === 'string' ? o.batchId : stringOption(o.batchId, 'batchId');
  // The one check of batch ids (src/storage/keys.ts), shared with the worker and `anybatch delete`.
  const idProblem = batchId !== undefined ? batchIdProblem(batchId) : null;
  if (idProblem) throw new UsageError(`${idProblem}.`);
  const providerOptions = Object.fromEntries(Object.entries(spec.parse(o)).filter(([, v]) => v !== undefined));
  const parsed: ParsedCreateOptions = {
    ...parseClientOptions(o, `createBatch (${provider})`),
    completionWindow,
    metadata: checkMetadata(provider, o.metadata),
    apiBase: stringOption(o.apiBase, 'apiBase') ?? null,
    pollIntervalMs: durationMs(o.pollInterval, 'pollInterval', o.pollInterval === undefined ? defaultPollIntervalMs(provider) : DEFAULT_POLL_INTERVAL_MS),
    noWait: booleanOption(o.noWait, 'noWait') ?? false,
    searchAttributes: booleanOption(o.searchAttributes, 'searchAttributes') ?? true,
    maxRequestsPerPart: positiveOption(o.maxRequestsPerPart, 'maxRequestsPerPart'),
    maxBytesPerPart: positiveOption(o.maxBytesPerPart, 'maxBytesPerPart'),
    providerOptions,
  };
  const apiKey = stringOption(o.apiKey, 'apiKey');
  if (apiKey !== undefined) parsed.apiKey = apiKey;
  const clientArgs = checkClientArgs(o.clientArgs);
  if (clientArgs !== undefined) parsed.clientArgs = clientArgs;
  const retryTimeoutMs = durationMs(o.retryTimeout, 'retryTimeout');
  if (retryTimeoutMs !== undefined) parsed.retryTimeoutMs = retryTimeoutMs;
  const resultsDir = stringOption(o.resultsDir, 'resultsDir');
  if (resultsDir !== undefined) parsed.resultsDir = resultsDir;
  if (batchId !== undefined) parsed.batchId = batchId;
  const submitConcurrency = positiveOption(o.submitConcurrency, 'submitConcurrency');
  if (submitConcurrency !== null) parsed.submitConcurrency = submitConcurrency;
  const retryFailed = checkRetryFailed(o.retryFailed);
  if (retryFailed !== undefined) parsed.retryFailed = retryFailed;
  const queueLimitRetry = checkQueueLimitRetry(o.queueLimitRetry);
  if (queueLimitRetry !== undefined) parsed.queueLimitRetry = queueLimitRetry;
  const bounds = checkBounds(o.bounds);
  if (bounds !== undefined) parsed.bounds = bounds;
  const admission = checkAdmission(o.admission);
  if (admission !== undefined) parsed.admission = admission;
  const webhook = checkWebhook(o.webhook);
  if (webhook !== undefined) parsed.webhook = webhook;
  return parsed;
}

/** `webhook`, checked: `{ url }`, an http(s) URL with no user or password in it (the worker checks where it resolves). */
function checkWebhook(value: unknown): WebhookOptions | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) throw new UsageError(`webhook must be an object { url } (got ${describeValue(value)}).`);
  checkOptionNames(value, ['url'], 'createBatch', { prefix: 'webhook.' });
  const url = (value as { url?: unknown }).url;
  let parsed: URL;
  try {
    if (typeof url !== 'string') throw new Error('not a string');
    parsed = new URL(url);
  } catch {
    throw new UsageError(`webhook.url must be an http:// or https:// URL (got ${describeValue(url)}).`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`webhook.url must be an http:// or https:// URL (got ${parsed.protocol} in ${JSON.stringify(url)}).`);
  if (parsed.username || parsed.password) throw new UsageError('webhook.url must not hold a user or password: the event is signed (ANYBATCH_WEBHOOK_SECRET) instead.');
  return { url: parsed.toString() };
}
