/** Defaults and validation of `SandboxOptions` and `SandboxFaults`: one place that says what is allowed. */
import type { SandboxFaults, SandboxOptions, SandboxS3Options } from './settings';

/** A sandbox setting that cannot work; `anybatch sandbox` reports it as a usage error. */
export class SandboxSettingError extends Error {
  readonly code = 'usage';
  constructor(message: string) {
    super(message);
    this.name = 'SandboxSettingError';
  }
}

export interface ResolvedOptions {
  host: string;
  port: number;
  rate: number;
  validationMs: number;
  finalizingMs: number;
  cancellingMs: number;
  /** The caller's per-batch limits; null leaves each provider its own (see `limits.ts`). */
  maxRequests: number | null;
  maxBytes: number | null;
  apiKey: string | null;
  /** See `SandboxOptions.enqueuedTokenLimit`; null: no limit. */
  enqueuedTokenLimit: number | null;
  /** See `SandboxOptions.bedrockMinRecords`. */
  bedrockMinRecords: number;
  /** See `SandboxOptions.s3`; null: the AWS variables alone. */
  s3: SandboxS3Options | null;
  faults: SandboxFaults;
  /** See `SandboxOptions.gcsBuckets`. */
  gcsBuckets: string[];
  /** See `SandboxOptions.webhook`; null: no webhooks sent. */
  webhook: { url: string; secret: string } | null;
  /** See `SandboxOptions.geminiWebhook`; null: none sent. */
  geminiWebhook: { url: string; secret: string } | null;
  dataDir: string | null;
  now: () => number;
  log: ((line: string) => void) | null;
}

export function resolveOptions(options: SandboxOptions = {}): ResolvedOptions {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new SandboxSettingError(`Invalid sandbox port: ${port}`);
  return {
    host: options.host ?? '127.0.0.1',
    port,
    rate: positive('rate', options.rate ?? 50),
    validationMs: nonNegative('validationMs', options.validationMs ?? 300),
    finalizingMs: nonNegative('finalizingMs', options.finalizingMs ?? 200),
    cancellingMs: nonNegative('cancellingMs', options.cancellingMs ?? 300),
    maxRequests: options.maxRequests === undefined ? null : positiveInteger('maxRequests', options.maxRequests),
    maxBytes: options.maxBytes === undefined ? null : positiveInteger('maxBytes', options.maxBytes),
    apiKey: options.apiKey ? options.apiKey : null,
    enqueuedTokenLimit: options.enqueuedTokenLimit === undefined ? null : positiveInteger('enqueuedTokenLimit', options.enqueuedTokenLimit),
    bedrockMinRecords: positiveInteger('bedrockMinRecords', options.bedrockMinRecords ?? 100),
    s3: options.s3 ? checkS3(options.s3) : null,
    faults: checkFaults(options.faults ?? {}),
    gcsBuckets: bucketNames(options.gcsBuckets ?? ['anybatch-sandbox']),
    webhook: options.webhook ? checkWebhook(options.webhook) : null,
    geminiWebhook: options.geminiWebhook ? checkWebhook(options.geminiWebhook, 'geminiWebhook') : null,
    dataDir: options.dataDir ?? null,
    now: options.now ?? Date.now,
    log: options.log ?? null,
  };
}

function checkWebhook(webhook: { url: string; secret: string }, name = 'webhook'): { url: string; secret: string } {
  try {
    const url = new URL(webhook.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw new SandboxSettingError(`${name} url must be an http(s) URL (got ${JSON.stringify(webhook.url)})`);
  }
  // Gemini's is signed with the standardwebhooks library, which takes strict base64 only.
  const strict = name === 'geminiWebhook';
  if (typeof webhook.secret !== 'string' || (strict && !/^(whsec_)?[A-Za-z0-9+/]+={0,2}$/.test(webhook.secret)) || Buffer.from(webhook.secret.replace(/^whsec_/, ''), 'base64').length < 16) {
    throw new SandboxSettingError(`${name} secret must be whsec_ followed by at least 16 bytes in base64`);
  }
  return { url: webhook.url, secret: webhook.secret };
}

const RATE_KEYS = ['rate429', 'rate500', 'rateDrop', 'truncateDownloads', 'requestFaultRate'] as const;
const FAULT_KEYS = new Set<string>([
  ...RATE_KEYS,
  'retryAfterSeconds',
  'slowMs',
  'failValidation',
  'expireAfterSeconds',
  'createResponseDelayMs',
  'loseCreateResponses',
  'lostCreateStatus',
  'downloadBytesPerSecond',
  'forceStatus',
  'models',
  'seed',
]);

/** Checks fault settings, which may arrive as untrusted JSON on `POST /_sandbox/faults`. */
export function checkFaults(input: unknown): SandboxFaults {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new SandboxSettingError('Sandbox faults must be an object.');
  }
  const raw = input as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!FAULT_KEYS.has(key)) throw new SandboxSettingError(`Unknown sandbox fault setting: ${key}`);
  }
  const faults: SandboxFaults = {};
  for (const key of RATE_KEYS) {
    if (raw[key] === undefined) continue;
    const value = raw[key];
    if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
      throw new SandboxSettingError(`Sandbox fault ${key} must be a probability between 0 and 1, got ${String(value)}`);
    }
    faults[key] = value;
  }
  if (raw.failValidation !== undefined) {
    if (typeof raw.failValidation !== 'boolean') throw new SandboxSettingError('Sandbox fault failValidation must be a boolean.');
    faults.failValidation = raw.failValidation;
  }
  faults.retryAfterSeconds = optional(raw, 'retryAfterSeconds', nonNegative);
  faults.slowMs = optional(raw, 'slowMs', nonNegative);
  faults.expireAfterSeconds = optional(raw, 'expireAfterSeconds', positive);
  faults.createResponseDelayMs = optional(raw, 'createResponseDelayMs', nonNegative);
  faults.loseCreateResponses = optional(raw, 'loseCreateResponses', count);
  faults.lostCreateStatus = optional(raw, 'lostCreateStatus', serverErrorStatus);
  faults.downloadBytesPerSecond = optional(raw, 'downloadBytesPerSecond', positive);
  faults.seed = optional(raw, 'seed', integer);
  faults.forceStatus = optional(raw, 'forceStatus', errorStatus);
  if (raw.models !== undefined) {
    if (!Array.isArray(raw.models) || !raw.models.every((m): m is string => typeof m === 'string' && m !== '')) {
      throw new SandboxSettingError('Sandbox fault models must be an array of model names (non-empty strings).');
    }
    faults.models = [...raw.models];
  }
  for (const key of Object.keys(faults) as Array<keyof SandboxFaults>) {
    if (faults[key] === undefined) delete faults[key];
  }
  return faults;
}

/**
 * Cloud Storage's bucket naming rule (3 to 63 lowercase letters, digits, `-`, `_` and `.`, starting and ending with a
 * letter or digit), checked here for `gcsBuckets` and by the gcs module's bucket insert.
 */
export const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/;

function bucketNames(names: unknown): string[] {
  if (!Array.isArray(names)) throw new SandboxSettingError('Sandbox setting gcsBuckets must be an array of bucket names.');
  for (const name of names) {
    if (typeof name !== 'string' || !BUCKET_NAME.test(name)) throw new SandboxSettingError(`Sandbox setting gcsBuckets holds an invalid bucket name: ${String(name)}`);
  }
  return [...new Set(names as string[])];
}

/** The bedrock module's S3 setting: an endpoint that is a URL, credentials with both keys. */
function checkS3(s3: SandboxS3Options): SandboxS3Options {
  if (s3.endpoint !== undefined && !URL.canParse(s3.endpoint)) throw new SandboxSettingError(`Sandbox setting s3.endpoint must be a URL, got ${s3.endpoint}`);
  if (s3.credentials && !(s3.credentials.accessKeyId && s3.credentials.secretAccessKey)) {
    throw new SandboxSettingError('Sandbox setting s3.credentials needs both accessKeyId and secretAccessKey.');
  }
  return { ...s3 };
}

function optional(raw: Record<string, unknown>, key: string, check: (name: string, value: number) => number): number | undefined {
  const value = raw[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'number') throw new SandboxSettingError(`Sandbox setting ${key} must be a number, got ${String(value)}`);
  return check(key, value);
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new SandboxSettingError(`Sandbox setting ${name} must be a positive number, got ${value}`);
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new SandboxSettingError(`Sandbox setting ${name} must be zero or more, got ${value}`);
  return value;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new SandboxSettingError(`Sandbox setting ${name} must be a positive integer, got ${value}`);
  return value;
}

function errorStatus(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 400 || value > 599) throw new SandboxSettingError(`Sandbox setting ${name} must be an HTTP error status (400..599), got ${value}`);
  return value;
}

function count(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) throw new SandboxSettingError(`Sandbox setting ${name} must be a whole number (0 or more), got ${value}`);
  return value;
}

function serverErrorStatus(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 500 || value > 599) throw new SandboxSettingError(`Sandbox setting ${name} must be a server error status (500..599), got ${value}`);
  return value;
}

function integer(name: string, value: number): number {
  if (!Number.isInteger(value)) throw new SandboxSettingError(`Sandbox setting ${name} must be an integer, got ${value}`);
  return value;
}
