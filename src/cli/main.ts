/**
 * The `anybatch` command line. Exit status: 0 on success (with --wait: the batch ended `completed`),
 * 2 for invalid input or usage, 1 otherwise. Errors are one readable message on stderr.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Command, CommanderError, Option } from 'commander';
import { cancelBatch, createBatch, batchResultLines, deleteBatch, listBatches, loadBatch, newBatchId, openResultFile, planBatch, recoverBatch } from '../api';
import type { ClientOptions } from '../api';
import type { AnybatchBatch } from '../contract/batch';
import { isTerminal } from '../contract/batch';
import { AnybatchError, InputValidationError, UsageError } from '../errors';
import { supportedProviders } from '../providers/registry';
import { COMMON_CREATE_OPTION_NAMES, PROVIDER_WEBHOOKS_ENV } from '../options';
import { registerSandboxCommand } from '../sandbox/cli';
import { registerServeCommand } from './serve';
import { registerWebhooksCommand } from './webhooks';
import { registerHealthCommand } from './health';
import { registerStorageCommand } from './storage';
import { closeTemporalClients } from '../temporal/client';
import { closeClientStores } from '../config';
import { formatBytes } from '../validation/format';
import { listRow, planSummary, summary } from './format';
import { reportRetries, waitForBatch } from './wait';
import { runDev } from './dev';
import { runQuickstart } from './quickstart';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
/** Set by an action whose outcome is not success (e.g. --wait on a batch that did not complete). */
let exitStatus = EXIT_OK;

interface GlobalOpts {
  address?: string;
  namespace?: string;
  taskQueue?: string;
}

/** A provider key read from a file (never from argv, where `ps` shows it): trimmed, and not empty. */
function readKeyFile(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the API key file ${path.resolve(file)}: ${(err as Error).message}`);
  }
  const key = text.trim();
  if (key.length === 0) throw new UsageError(`the API key file ${path.resolve(file)} is empty`);
  return key;
}

function clientOptions(cmd: Command): ClientOptions {
  const g = cmd.optsWithGlobals<GlobalOpts>();
  return { temporal: { address: g.address, namespace: g.namespace }, taskQueue: g.taskQueue };
}

function parseMetadata(pairs: string[] | undefined): Record<string, string> | undefined {
  if (!pairs || pairs.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--metadata takes key=value (got "${pair}").`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** `--retry-failed N [--retry-codes a,b]` as the `retryFailed` option (checked by `createBatch`). */
function retryFailedOption(rounds: number | undefined, codes: string | undefined): { retryFailed?: { rounds: number; codes?: string[] } } {
  if (rounds === undefined) {
    if (codes !== undefined) throw new UsageError('--retry-codes needs --retry-failed N.');
    return {};
  }
  return { retryFailed: { rounds, ...(codes !== undefined ? { codes: codes.split(',').map((c) => c.trim()).filter((c) => c !== '') } : {}) } };
}

/** `--enqueued-token-budget N` and `--batch-budget N` as the `admission` option (absent when neither is given). */
function admissionOption(enqueuedTokens: number | undefined, batches: number | undefined): { admission?: { enqueuedTokens?: number; batches?: number } } {
  if (enqueuedTokens === undefined && batches === undefined) return {};
  return { admission: { ...(enqueuedTokens !== undefined ? { enqueuedTokens } : {}), ...(batches !== undefined ? { batches } : {}) } };
}

/**
 * `--option key=value` pairs as a provider's own options. Values are JSON when they parse (`6000`, `true`), else
 * strings; the options are then checked like the library's (an unknown name is a `UsageError` with a suggestion).
 * anybatch's common options have flags of their own and are refused here.
 */
function providerOptions(pairs: string[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--option takes key=value (got "${pair}").`);
    const key = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    if ((COMMON_CREATE_OPTION_NAMES as readonly string[]).includes(key)) {
      throw new UsageError(`--option ${key}: "${key}" is one of anybatch's own options, not a provider's; use its flag (see anybatch create --help).`);
    }
    let value: unknown = raw;
    try {
      const parsed: unknown = JSON.parse(raw);
      if (parsed === null || typeof parsed !== 'object') value = parsed;
    } catch {
      // not JSON: the string itself
    }
    out[key] = value;
  }
  return out;
}

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${name} must be a positive integer (got "${value}").`);
    return n;
  };
}

function print(batch: AnybatchBatch, json: boolean | undefined): void {
  process.stdout.write((json ? JSON.stringify(batch, null, 2) : summary(batch)) + '\n');
}

/** With --wait, `create` succeeds only when the batch completed. */
function waitedExit(batch: AnybatchBatch): number {
  return batch.status === 'completed' ? EXIT_OK : EXIT_FAILED;
}

/**
 * The key of `create`'s `--api-key` or `--api-key-file` (not both). The file's content, trimmed, is the key: a
 * missing, unreadable or empty file is a `UsageError` naming the file (never its content), see `readKeyFile`.
 */
export function apiKeyOption(apiKey: string | undefined, apiKeyFile: string | undefined): string | undefined {
  if (apiKeyFile === undefined) return apiKey;
  if (apiKey !== undefined) throw new UsageError('Give --api-key or --api-key-file, not both.');
  return readKeyFile(apiKeyFile);
}

export function buildProgram(): Command {
  const program = new Command('anybatch')
    .description('Durable LLM batch jobs on Temporal, for any provider.')
    .option('--address <host:port>', 'Temporal frontend (default: TEMPORAL_ADDRESS or 127.0.0.1:7233)')
    .option('--namespace <ns>', 'Temporal namespace (default: TEMPORAL_NAMESPACE or "default")')
    .option('--task-queue <name>', 'worker task queue (default: ANYBATCH_TASK_QUEUE or "anybatch")')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('create')
    .description('validate FILE, start a batch and print it once the provider accepted it')
    .argument('<file>', 'JSONL input in OpenAI batch format')
    .requiredOption('--provider <name>', `provider: ${supportedProviders().join(', ')}`)
    .requiredOption('--endpoint <path>', 'endpoint, e.g. /v1/chat/completions')
    .option('--completion-window <w>', 'completion window', '24h')
    .option('--metadata <key=value...>', 'metadata pairs (repeatable)')
    .option('--api-key <key>', "provider API key (default: the worker's key variable, e.g. OPENAI_API_KEY). Visible to other users in ps: prefer --api-key-file, or the worker's key variable")
    .option('--api-key-file <path>', 'read the provider API key from this file (surrounding whitespace trimmed)')
    .option('--api-base <url>', 'provider base URL (e.g. the sandbox)')
    .option('--poll-interval <duration>', `how often to poll the provider (default 30s; 10m for a provider in ${PROVIDER_WEBHOOKS_ENV}, whose webhooks wake the batch)`)
    .option('--retry-timeout <duration>', 'how long a failing step is retried before the provider accepted the batch (default 10m)')
    .option('--results-dir <dir>', 'where to write output.jsonl and errors.jsonl (local store only; with S3 use `anybatch results ID --out DIR`)')
    .addOption(new Option('--max-requests-per-part <n>', "split into provider batches of at most N requests (default: the provider's limit)").argParser(positiveInt('--max-requests-per-part')))
    .addOption(new Option('--max-bytes-per-part <n>', "split into provider batches of at most N bytes (default: the provider's limit)").argParser(positiveInt('--max-bytes-per-part')))
    .addOption(new Option('--retry-failed <n>', 'resubmit requests that failed with a retryable error (429, 5xx, timeouts, batch_expired) in up to N follow-up rounds').argParser(positiveInt('--retry-failed')))
    .option('--retry-codes <codes>', 'with --retry-failed: comma-separated codes to retry instead (e.g. 429,5xx,timeout,batch_expired)')
    .addOption(new Option('--enqueued-token-budget <n>', 'admission control: at most N prompt tokens enqueued at the provider at once, shared by every batch of this connection and model (default: ANYBATCH_ADMISSION, else the provider\'s published limit)').argParser(positiveInt('--enqueued-token-budget')))
    .addOption(new Option('--batch-budget <n>', 'admission control: at most N provider batches in flight at once, shared like --enqueued-token-budget').argParser(positiveInt('--batch-budget')))
    .option('--option <key=value...>', "a provider's own option (repeatable), e.g. --option rpm=6000 --option concurrency=16 for openai-compatible; a value that parses as JSON (a number, true, false) is taken as that, else as a string")
    .option('--webhook <url>', "POST a signed Standard Webhooks event (anybatch.batch.<status>) here when the batch ends (signed with the worker's ANYBATCH_WEBHOOK_SECRET)")
    .option('--wait', 'follow the batch until it is terminal')
    .option('--json', 'print the Batch object as JSON')
    .option('--dry-run', 'validate and plan FILE: print its requests, parts, estimated tokens and cost range, and start nothing (needs no Temporal)')
    .option('--model <name>', 'with --dry-run: count and price the requests as this model instead of their own')
    .action(async (file: string, o, cmd: Command) => {
      if (o.model !== undefined && !o.dryRun) throw new UsageError('--model is for --dry-run (a batch runs the model each request names).');
      if (o.dryRun) {
        if (o.wait) throw new UsageError('--dry-run starts nothing, so there is nothing to --wait for.');
        const plan = await planBatch(o.provider, file, o.endpoint, {
          completionWindow: o.completionWindow,
          metadata: parseMetadata(o.metadata),
          maxRequestsPerPart: o.maxRequestsPerPart,
          maxBytesPerPart: o.maxBytesPerPart,
          ...(o.model !== undefined ? { model: o.model } : {}),
        });
        for (const warning of plan.warnings) process.stderr.write(`anybatch: warning: ${warning}\n`);
        return void process.stdout.write((o.json ? JSON.stringify(plan, null, 2) : planSummary(plan)) + '\n');
      }
      const apiKey = apiKeyOption(o.apiKey, o.apiKeyFile);
      const options = clientOptions(cmd);
      // Until the provider accepts the batch, a step that fails and is retried is reported as it happens.
      const batchId = newBatchId();
      const retries = reportRetries(batchId, options);
      const batch = await createBatch(o.provider, file, o.endpoint, {
        ...options,
        batchId,
        completionWindow: o.completionWindow,
        metadata: parseMetadata(o.metadata),
        apiKey,
        apiBase: o.apiBase,
        pollInterval: o.pollInterval,
        ...(o.retryTimeout !== undefined ? { retryTimeout: o.retryTimeout } : {}),
        resultsDir: o.resultsDir ? path.resolve(o.resultsDir) : undefined,
        maxRequestsPerPart: o.maxRequestsPerPart,
        maxBytesPerPart: o.maxBytesPerPart,
        ...retryFailedOption(o.retryFailed, o.retryCodes),
        ...admissionOption(o.enqueuedTokenBudget, o.batchBudget),
        ...(o.webhook !== undefined ? { webhook: { url: o.webhook } } : {}),
        ...providerOptions(o.option),
      }).finally(() => retries.stop());
      for (const warning of batch.anybatch.warnings) process.stderr.write(`anybatch: warning: ${warning}\n`);
      if (!o.wait) return print(batch, o.json);
      if (!o.json) process.stderr.write(`${batch.id} accepted by ${batch.anybatch.provider}\n`);
      const final = await waitForBatch(batch.id, options);
      print(final, o.json);
      exitStatus = waitedExit(final);
    });

  program
    .command('get')
    .description('show a batch')
    .argument('<id>', 'batch id')
    .option('--json', 'print the Batch object as JSON')
    .action(async (id: string, o, cmd: Command) => print(await loadBatch(id, clientOptions(cmd)), o.json));

  program
    .command('cancel')
    .description('cancel a batch (partial results are still delivered)')
    .argument('<id>', 'batch id')
    .option('--wait', 'wait until the batch is cancelled and its results are written')
    .option('--json', 'print the Batch object as JSON')
    .action(async (id: string, o, cmd: Command) => {
      const options = clientOptions(cmd);
      const current = await loadBatch(id, options);
      if (isTerminal(current.status)) {
        // Nothing to do, and not an error: the batch ended before the cancel (--json still prints it).
        process.stderr.write(`Batch ${id} is already ${current.status}; nothing to cancel.\n`);
        if (o.json) print(current, true);
        return;
      }
      const batch = await cancelBatch(null, id, options);
      if (!o.wait) return print(batch, o.json);
      const final = await waitForBatch(id, options);
      print(final, o.json);
      exitStatus = final.status === 'cancelled' || final.status === 'completed' ? EXIT_OK : EXIT_FAILED;
    });

  program
    .command('list')
    .description('list batches, newest first')
    .option('--provider <name>', 'only this provider')
    .option('--after <id>', 'batches created before this one')
    .addOption(new Option('--limit <n>', 'how many (1-100)').argParser(positiveInt('--limit')).default(20))
    .option('--json', 'print a JSON array of Batch objects')
    .action(async (o, cmd: Command) => {
      const batches = await listBatches(o.provider ?? null, { ...clientOptions(cmd), after: o.after, limit: o.limit });
      if (o.json) process.stdout.write(JSON.stringify(batches, null, 2) + '\n');
      else for (const b of batches) process.stdout.write(listRow(b) + '\n');
    });

  program
    .command('results')
    .description('print the result lines of a finished batch (output, then errors), or copy its files to --out')
    .argument('<id>', 'batch id')
    .option('--out <dir>', 'copy output.jsonl and errors.jsonl into this folder')
    .addHelpText('after', '\nResults are read from the store (ANYBATCH_STORAGE, e.g. s3://bucket/prefix, with the AWS_* settings), so any host that can reach it gets them.')
    .action(async (id: string, o, cmd: Command) => {
      const options = clientOptions(cmd);
      if (o.out) {
        const batch = await loadBatch(id, options);
        // batchResultLines raises BatchNotCompleteError (or BatchFailedError) for a batch without results.
        if (!batch.anybatch.results) for await (const _ of batchResultLines(null, id, options)) break;
        fs.mkdirSync(o.out, { recursive: true });
        for (const which of ['output', 'errors'] as const) {
          const file = await openResultFile(batch, which);
          const target = path.join(o.out, file.name);
          await pipeline(file.stream, fs.createWriteStream(target));
          process.stdout.write(target + '\n');
        }
        return;
      }
      for await (const line of batchResultLines(null, id, options)) {
        if (!process.stdout.write(JSON.stringify(line) + '\n')) await new Promise((r) => process.stdout.once('drain', r));
      }
    });

  program
    .command('delete')
    .description("remove a finished batch's staged inputs and results from the store (a running batch: cancel it first)")
    .argument('<id>', 'batch id')
    .option('--json', 'print what was removed as JSON')
    .addHelpText('after', '\nTo expire results without deleting batches one by one, give the bucket a lifecycle rule that expires the prefix results/ (under your ANYBATCH_STORAGE prefix) after N days.')
    .action(async (id: string, o, cmd: Command) => {
      const result = await deleteBatch(null, id, clientOptions(cmd));
      if (o.json) return void process.stdout.write(JSON.stringify(result, null, 2) + '\n');
      for (const r of result.removed) process.stdout.write(`removed ${r.location} (${formatBytes(r.bytes)})\n`);
      const n = result.removed.length;
      process.stderr.write(
        n === 0 ? `Nothing left to remove for batch ${id}.\n` : `Removed ${n} object${n === 1 ? '' : 's'} (${formatBytes(result.bytes)}) of batch ${id}.\n`,
      );
    });

  program
    .command('recover')
    .description("read what a finished batch's given-up parts produced since, and rewrite its result files (each request still in exactly one line)")
    .argument('<id>', 'batch id')
    .option('--api-key-file <path>', "a file holding the provider key to read them with (default: the batch's own, else the worker environment)")
    .option('--api-base <url>', "the provider base URL to read them at (default: the batch's own)")
    .option('--json', 'print the Batch object (with anybatch.recovery) as JSON')
    .action(async (id: string, o, cmd: Command) => {
      const apiKey = o.apiKeyFile !== undefined ? readKeyFile(o.apiKeyFile) : undefined;
      const batch = await recoverBatch(id, { ...clientOptions(cmd), ...(apiKey !== undefined ? { apiKey } : {}), ...(o.apiBase !== undefined ? { apiBase: o.apiBase } : {}) });
      if (o.json) return void process.stdout.write(JSON.stringify(batch, null, 2) + '\n');
      const report = batch.anybatch.recovery;
      if (!report) return void process.stderr.write(`Batch ${id} has no given-up parts: nothing to recover.\n`);
      for (const p of report.parts) {
        const counts = p.outcome === 'recovered' ? ` (${p.output} succeeded, ${p.errors} in errors.jsonl)` : '';
        const why = p.error ? `: ${p.error}` : p.provider_status ? ` (provider status ${p.provider_status})` : '';
        process.stdout.write(`part ${p.index} (${p.provider_batch_id}): ${p.outcome.replace('_', ' ')}${counts}${why}\n`);
      }
      process.stdout.write(`${id}: ${report.output_count} succeeded, ${report.errors_count} in errors.jsonl` + (report.remaining > 0 ? `; ${report.remaining} part(s) left to recover (run again later)\n` : '\n'));
      if (report.remaining > 0) exitStatus = EXIT_FAILED;
    });

  program
    .command('worker')
    .description('run a worker (until Ctrl-C)')
    .action(async (_o, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOpts>();
      const { runWorker } = await import('../../worker');
      await runWorker({ address: g.address, namespace: g.namespace, taskQueue: g.taskQueue });
    });

  program
    .command('dev')
    .description('run an embedded Temporal dev server (SQLite, Web UI) and a worker (until Ctrl-C)')
    .addOption(new Option('--port <n>', 'Temporal frontend port').argParser(positiveInt('--port')).default(7233))
    .addOption(new Option('--ui-port <n>', 'Web UI port (default: port + 1000)').argParser(positiveInt('--ui-port')))
    .action(async (o, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOpts>();
      await runDev({ port: o.port, uiPort: o.uiPort, taskQueue: g.taskQueue, namespace: g.namespace });
    });

  program
    .command('quickstart')
    .description('run examples/chat.jsonl end to end on an embedded Temporal server and the sandbox (npm start)')
    .option('--file <path>', 'input file', '')
    .action(async (o) => runQuickstart({ file: o.file || undefined }));

  registerSandboxCommand(program);
  registerServeCommand(program, positiveInt);
  registerWebhooksCommand(program, positiveInt);
  registerHealthCommand(program);
  registerStorageCommand(program);
  return program;
}

function describe(err: unknown): { message: string; code: number } {
  if (err instanceof CommanderError) return { message: '', code: err.exitCode === 0 ? EXIT_OK : EXIT_USAGE };
  if (err instanceof InputValidationError || err instanceof UsageError) return { message: err.message, code: EXIT_USAGE };
  // Includes TemporalUnavailableError (Temporal cannot be reached: the message names the address and how to set it).
  if (err instanceof AnybatchError) return { message: err.message, code: EXIT_FAILED };
  const e = err as Error;
  return { message: e instanceof Error ? e.message : String(err), code: EXIT_FAILED };
}

export async function main(argv: string[]): Promise<number> {
  let code = EXIT_OK;
  try {
    const program = buildProgram();
    exitStatus = EXIT_OK;
    await program.parseAsync(argv, { from: 'user' });
    code = exitStatus;
  } catch (err) {
    const d = describe(err);
    if (d.message) process.stderr.write(`anybatch: ${d.message}\n`);
    code = d.code;
  }
  await closeTemporalClients();
  closeClientStores();
  return code;
}
