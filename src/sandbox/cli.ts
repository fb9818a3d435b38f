/**
 * `anybatch sandbox`: run the sandbox provider in the foreground until SIGINT/SIGTERM. This file is the
 * sandbox's entry in the anybatch CLI, so it alone knows the CLI's `UsageError` (exit status 2).
 */
import type { Command } from 'commander';
import { UsageError } from '../errors';
import { SandboxSettingError, startSandbox, type Sandbox, type SandboxFaults, type SandboxOptions } from './index';
import { PROVIDER_MODULES } from './providers';

interface SandboxCliOptions {
  port: string;
  host?: string;
  rate?: string;
  maxRequests?: string;
  maxBytes?: string;
  validationMs?: string;
  expireAfter?: string;
  failValidation?: boolean;
  fault429?: string;
  fault500?: string;
  faultDrop?: string;
  requestFaultRate?: string;
  retryAfter?: string;
  slowMs?: string;
  forceStatus?: string;
  loseCreateResponses?: string;
  lostCreateStatus?: string;
  models?: string;
  apiKey?: string;
  enqueuedTokenLimit?: string;
  seed?: string;
  rpm?: string;
  tpm?: string;
  gcsBuckets?: string;
  bedrockMinRecords?: string;
  webhookUrl?: string;
  webhookSecret?: string;
  geminiWebhookUrl?: string;
  geminiWebhookSecret?: string;
}

export function registerSandboxCommand(program: Command): void {
  program
    .command('sandbox')
    .description(`run a local server emulating providers' batch APIs (${Object.keys(PROVIDER_MODULES).join(', ')}), each under /<provider>; prints each provider's base URL`)
    .option('--port <n>', 'port to listen on', '8089')
    .option('--host <h>', 'interface to bind (default 127.0.0.1)')
    .option('--rate <r>', 'requests processed per second per batch (default 50)')
    .option('--max-requests <n>', "most requests in one batch (default: each provider's, e.g. 50000 for openai)")
    .option('--max-bytes <b>', "largest upload in bytes (default: each provider's, e.g. 200 MB for openai, 100 MB for groq)")
    .option('--validation-ms <ms>', "time a batch spends in 'validating' (default 300)")
    .option('--expire-after <seconds>', 'batches expire this long after creation (default 24h)')
    .option('--fail-validation', 'every new batch fails validation')
    .option('--fault-429 <rate>', 'probability (0..1) of a 429 per API request')
    .option('--fault-500 <rate>', 'probability (0..1) of a 500 per API request')
    .option('--fault-drop <rate>', 'probability (0..1) of dropping the connection per API request')
    .option(
      '--request-fault-rate <rate>',
      "probability (0..1) that one request of a batch ends as a 500 error line (OpenAI's error-file shape; Anthropic: errored api_error; xAI: INTERNAL), drawn anew for every request of every batch (repeatable with --seed)",
    )
    .option('--retry-after <s>', 'retry-after seconds on injected 429s (default 1)')
    .option('--slow-ms <ms>', 'latency added to every API request')
    .option('--force-status <status>', "every API request answers with this HTTP error status (400..599) in the provider's error shape")
    .option('--lose-create-responses <n>', "the next n batch creates (any provider) are made, then their answer is lost: the client's connection is reset")
    .option('--lost-create-status <status>', 'with --lose-create-responses: answer this 5xx status instead of resetting the connection')
    .option('--models <names>', 'comma-separated models that exist; a batch with a request for another fails validation (model_not_found)')
    .option('--api-key <key>', "accept only this key, read each provider's way: bearer, x-api-key, api-key (default: any non-empty key)")
    .option(
      '--enqueued-token-limit <n>',
      "per model, most prompt tokens enqueued in batches still validating, in_progress or finalizing (the providers speaking OpenAI's Files and Batches APIs: openai, groq, azureopenai, nebius, dashscope, moonshot, cerebras); a new batch that would go over fails with OpenAI's token_limit_exceeded. Tokens as the stand-in model counts them: ceil(characters / 4) of the chat messages' text (each embedding input; other endpoints: the whole body)",
    )
    .option('--seed <n>', 'seed of the fault PRNG')
    .option('--rpm <n>', 'requests per minute of the online endpoints (POST /v1/chat/completions, /v1/embeddings); 429 with retry-after beyond it')
    .option('--tpm <n>', 'tokens per minute of the online endpoints (prompt characters / 4 + max tokens); 429 with retry-after beyond it')
    .option('--webhook-url <url>', "send OpenAI's batch webhooks (batch.completed, ...) here when an openai batch ends (with --webhook-secret)")
    .option('--webhook-secret <whsec>', 'the signing secret of those webhooks, whsec_<base64> (as OpenAI shows it)')
    .option('--gemini-webhook-url <url>', "send Gemini's static batch webhooks (batch.succeeded, ...) here when a gemini batch ends (with --gemini-webhook-secret)")
    .option('--gemini-webhook-secret <whsec>', "the signing secret of those webhooks, whsec_<base64> (as Gemini's webhook create returns it)")
    .option('--bedrock-min-records <n>', "fewest records a bedrock job may hold, as Bedrock's quota (default 100)")
    .option('--gcs-buckets <names>', 'comma-separated Cloud Storage buckets the gcs module holds from the start (default anybatch-sandbox)')
    .action(async (raw: SandboxCliOptions) => {
      await runSandbox(toOptions(raw));
    });
}

/** Maps the command-line strings onto `SandboxOptions`, refusing anything that is not a number where one is due. */
function toOptions(raw: SandboxCliOptions): SandboxOptions {
  const faults: SandboxFaults = {
    rate429: num('--fault-429', raw.fault429),
    rate500: num('--fault-500', raw.fault500),
    rateDrop: num('--fault-drop', raw.faultDrop),
    requestFaultRate: num('--request-fault-rate', raw.requestFaultRate),
    retryAfterSeconds: num('--retry-after', raw.retryAfter),
    slowMs: num('--slow-ms', raw.slowMs),
    expireAfterSeconds: num('--expire-after', raw.expireAfter),
    failValidation: raw.failValidation,
    forceStatus: num('--force-status', raw.forceStatus),
    loseCreateResponses: num('--lose-create-responses', raw.loseCreateResponses),
    lostCreateStatus: num('--lost-create-status', raw.lostCreateStatus),
    models: raw.models === undefined ? undefined : list('--models', raw.models),
    seed: num('--seed', raw.seed),
  };
  return {
    port: num('--port', raw.port),
    host: raw.host,
    rate: num('--rate', raw.rate),
    maxRequests: num('--max-requests', raw.maxRequests),
    maxBytes: num('--max-bytes', raw.maxBytes),
    validationMs: num('--validation-ms', raw.validationMs),
    apiKey: raw.apiKey,
    rpm: num('--rpm', raw.rpm),
    tpm: num('--tpm', raw.tpm),
    gcsBuckets: raw.gcsBuckets === undefined ? undefined : list('--gcs-buckets', raw.gcsBuckets),
    bedrockMinRecords: num('--bedrock-min-records', raw.bedrockMinRecords),
    ...(raw.webhookUrl !== undefined || raw.webhookSecret !== undefined ? { webhook: { url: raw.webhookUrl ?? '', secret: raw.webhookSecret ?? '' } } : {}),
    ...(raw.geminiWebhookUrl !== undefined || raw.geminiWebhookSecret !== undefined ? { geminiWebhook: { url: raw.geminiWebhookUrl ?? '', secret: raw.geminiWebhookSecret ?? '' } } : {}),
    enqueuedTokenLimit: num('--enqueued-token-limit', raw.enqueuedTokenLimit),
    faults, // unset (undefined) settings are dropped by the option check
  };
}

function num(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag} takes a number (got "${value}").`);
  return n;
}

function list(flag: string, value: string): string[] {
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new UsageError(`${flag} takes a comma-separated list of names (got "${value}").`);
  return items;
}

/** The startup lines: where it listens, then one line per provider with the base URL to pass as --api-base / apiBase. */
export function startupLines(sandbox: Pick<Sandbox, 'url' | 'baseUrls'>): string {
  const rows = Object.entries(sandbox.baseUrls);
  const width = Math.max(...rows.map(([name]) => name.length));
  const lines = rows.map(([name, base]) => `  ${name.padEnd(width)}  ${base}`);
  return `anybatch sandbox listening on ${sandbox.url} (base URL per provider, for --api-base / apiBase:)\n${lines.join('\n')}\n`;
}

async function runSandbox(options: SandboxOptions): Promise<void> {
  let sandbox: Sandbox;
  try {
    sandbox = await startSandbox(options);
  } catch (err) {
    if (err instanceof SandboxSettingError) throw new UsageError(err.message);
    throw err;
  }
  process.stdout.write(startupLines(sandbox));
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await sandbox.close();
}
