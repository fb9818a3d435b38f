/**
 * AWS Bedrock batch inference through the official `@aws-sdk/client-bedrock` (control plane) and
 * `@aws-sdk/client-s3` (input and output), per provider-apis-3.md section 1.
 *
 * A part's requests are translated (./records.ts) into records in its work folder, put in S3 under the batch's own
 * folder of the output root (`<outputS3Uri><batch id>/<part>/<run nonce>/input/records.jsonl`), and a job is
 * created reading it and writing beside it (`.../output/`, where Bedrock adds `<job id>/records.jsonl.out` and
 * `manifest.json.out`). Results are joined back on the record ids, which are anybatch's own. The manifest, read once
 * the job ended, gives the batch the counts the job lacks and its tokens as `usage`; it never decides a request's
 * outcome (./manifest.ts).
 *
 * Idempotency: the job's `clientRequestToken` is a digest of the part's run key (its batch, part and run nonce):
 * Bedrock "ignores the request, but does not return an error" when a token repeats, answering with the same job,
 * so a create whose answer was lost is simply sent again. The input is put at a key of its own run, and a put of
 * the same bytes again is harmless.
 *
 * Trust: the worker writes with its own AWS credentials, so the output root must be one the operator allowed: under
 * an entry of ANYBATCH_BEDROCK_S3_URIS, or under the worker's own S3 store (ANYBATCH_STORAGE=s3://...), whose
 * `bedrock/` folder is the default. A root a workflow input names elsewhere is refused before anything is sent.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { BedrockClient, CreateModelInvocationJobCommand, GetModelInvocationJobCommand, StopModelInvocationJobCommand } from '@aws-sdk/client-bedrock';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { isTerminal, type Batch } from '../../contract/batch';
import { MalformedLine, readJsonLines, splitLines } from '../../results/jsonl';
import { maxResultLineBytes } from '../../results/malformed';
import type { ProviderCapabilities } from '../capabilities';
import type { ProviderInfo } from '../http-errors';
import { readJsonFile, runKey, runNonce, writeDurable } from '../run-nonce';
import { preparedFile, requirePreparedFile, ProviderError } from '../types';
import type { CreateProviderBatch, PreparedInput, ProviderAdapter, ProviderConnection, ProviderInput, RequestCheck, ResultLine } from '../types';
import { manifestDisagreement, manifestKey, readManifest, type GetObject, type LinesRead, type ManifestRead } from './manifest';
import { folderUri, foldersFromEnv, isUnder } from '../bucket-folders';
import { partCustomIds } from '../custom-ids';
import { renameDurably } from '../../storage/fsync';
import { awsCall, awsFailure } from './aws-errors';
import { jobIdOf, toOpenAIBatch, type BedrockJob } from './batch-object';
import { BEDROCK_WINDOW_HOURS } from './limits';
import { parseS3Uri, type BedrockOptions, type S3Location } from './options';
import { checkBedrockRequest, invocationType, recordIndex, recordLine, toModelInput, toOpenAIResultLine, type InvocationType, type OutputRecord } from './records';
import { partChunks } from '../part-input';

export const BEDROCK_S3_URIS_ENV = 'ANYBATCH_BEDROCK_S3_URIS';
export const BEDROCK_KEY_ENV = 'AWS_BEARER_TOKEN_BEDROCK';
export const BEDROCK_BASE_ENV = 'AWS_ENDPOINT_URL_BEDROCK';

/** What prepareInput decided, kept in the part's work folder. */
interface Plan {
  modelId: string;
  type: InvocationType;
  records: number;
  bytes: number;
}

function env(name: string): string | undefined {
  const value = process.env[name]?.trim();
  return value ? value : undefined;
}

function workFiles(input: ProviderInput) {
  return { records: path.join(input.workDir, 'records.jsonl'), plan: path.join(input.workDir, 'bedrock-plan.json') };
}

const uriOf = (loc: S3Location, key = '') => folderUri('s3', loc, key);

/** The worker's S3 store as an S3 location, when it has one. */
function storeRoot(): S3Location | null {
  const storage = env('ANYBATCH_STORAGE');
  if (!storage?.startsWith('s3://')) return null;
  try {
    return parseS3Uri(storage, 'ANYBATCH_STORAGE');
  } catch {
    return null;
  }
}

/** The output root of a batch: its `outputS3Uri`, or `bedrock/` in the worker's S3 store; refused when not allowed. */
export function outputRoot(options: BedrockOptions, label = 'Bedrock'): S3Location {
  const store = storeRoot();
  const root = options.outputS3Uri !== undefined ? parseS3Uri(options.outputS3Uri, 'outputS3Uri') : store ? { bucket: store.bucket, prefix: `${store.prefix}bedrock/` } : null;
  if (!root) {
    throw new ProviderError('invalid_request', `${label} batches need an S3 folder for the job's input and output: pass the outputS3Uri option (s3://bucket/prefix/), or run the worker on an S3 store (ANYBATCH_STORAGE=s3://...).`);
  }
  const allowed = foldersFromEnv('s3', BEDROCK_S3_URIS_ENV);
  if (store) allowed.push(store);
  if (!allowed.some((a) => isUnder(a, root))) {
    throw new ProviderError(
      'permission',
      `outputS3Uri ${uriOf(root)} is not under an entry of ${BEDROCK_S3_URIS_ENV} nor in the worker's S3 store: the worker writes there with its own AWS credentials, so its operator must allow it (${BEDROCK_S3_URIS_ENV}=s3://bucket/prefix/).`,
    );
  }
  return root;
}

/** A digest in Bedrock's token and job-name alphabets (`[a-zA-Z0-9]`). */
function digest(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

interface Clients {
  bedrock: BedrockClient;
  s3: S3Client;
}

export class BedrockAdapter implements ProviderAdapter {
  private readonly clients = new Map<string, Clients>();

  constructor(
    readonly capabilities: ProviderCapabilities,
    private readonly info: ProviderInfo,
  ) {}

  private client(conn: ProviderConnection): Clients {
    const options = (conn.options ?? {}) as BedrockOptions;
    const region = options.region ?? env('AWS_REGION') ?? env('AWS_DEFAULT_REGION') ?? 'us-east-1';
    const apiKey = conn.apiKey ?? env(BEDROCK_KEY_ENV);
    const endpoint = conn.apiBase ?? env(BEDROCK_BASE_ENV);
    const id = JSON.stringify([region, apiKey ?? null, endpoint ?? null]);
    let clients = this.clients.get(id);
    if (!clients) {
      // anybatch pins an exact SDK version; its warning is about later versions needing Node 22.
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
      const bedrock = new BedrockClient({
        region,
        ...(endpoint ? { endpoint } : {}),
        // A Bedrock API key is a bearer token; without one, SigV4 with the worker's AWS credential chain.
        ...(apiKey ? { token: { token: apiKey }, authSchemePreference: ['httpBearerAuth'] } : {}),
      });
      const s3Endpoint = env('AWS_ENDPOINT_URL_S3') ?? env('AWS_ENDPOINT_URL');
      // An S3-compatible endpoint gets path-style addressing and checksums only where required, as the blob store does
      // (src/storage/s3.ts): such servers do not all take the SDK's default trailing checksums.
      const s3 = new S3Client({
        region,
        ...(s3Endpoint ? { endpoint: s3Endpoint, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}),
      });
      clients = { bedrock, s3 };
      this.clients.set(id, clients);
    }
    return clients;
  }

  private options(input: { options: Record<string, unknown> }): BedrockOptions {
    return input.options as BedrockOptions;
  }

  checkRequest(payload: Record<string, unknown>, _endpoint: string, options: Record<string, unknown>): RequestCheck {
    return checkBedrockRequest(payload, options as BedrockOptions);
  }

  /** A request's size as a record (what the 1 GB file limit counts). */
  sentBytes(line: Buffer, _endpoint: string, options: Record<string, unknown>): number {
    const parsed = JSON.parse(line.toString('utf8')) as { body?: Record<string, unknown> };
    const body = parsed.body ?? {};
    const modelId = (options as BedrockOptions).modelId ?? String(body.model ?? '');
    try {
      return Buffer.byteLength(recordLine(0, toModelInput(body, modelId, invocationType(modelId, (options as BedrockOptions).modelInvocationType))));
    } catch {
      return line.length + 1;
    }
  }

  /** Writes the part's records to its work folder (streamed), once. */
  private async translate(input: ProviderInput): Promise<Plan> {
    const earlier = await readJsonFile<Plan>(workFiles(input).plan);
    if (earlier) return earlier;
    const files = workFiles(input);
    await fs.promises.mkdir(input.workDir, { recursive: true });
    const out = fs.createWriteStream(files.records + '.tmp');
    const options = this.options(input);
    let modelId: string | null = options.modelId ?? null;
    let type: InvocationType | null = null;
    let records = 0;
    let bytes = 0;
    try {
      for await (const raw of splitLines(partChunks(input))) {
        if (raw.length === 0) continue;
        const line = JSON.parse(raw.toString('utf8')) as { body?: Record<string, unknown> };
        const body = line.body ?? {};
        modelId ??= typeof body.model === 'string' ? body.model : null;
        if (modelId === null) throw new ProviderError('invalid_request', `${this.info.label}: the first request of ${input.path} names no model and the batch has no modelId option.`);
        type ??= invocationType(modelId, options.modelInvocationType);
        const text = recordLine(records, toModelInput(body, modelId, type));
        records += 1;
        bytes += Buffer.byteLength(text);
        if (!out.write(text)) await once(out, 'drain');
      }
      await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    } catch (err) {
      out.destroy();
      await fs.promises.rm(files.records + '.tmp', { force: true });
      throw err;
    }
    if (modelId === null || type === null) throw new ProviderError('invalid_request', `The part ${input.path} holds no requests.`);
    const plan: Plan = { modelId, type, records, bytes };
    await renameDurably(files.records + '.tmp', files.records);
    await writeDurable(files.plan, JSON.stringify(plan));
    return plan;
  }

  /** The part's folder under the output root, for this run. */
  private async partFolder(input: ProviderInput): Promise<S3Location> {
    const root = outputRoot(this.options(input), this.info.label);
    const nonce = await runNonce(input);
    return { bucket: root.bucket, prefix: `${root.prefix}${input.idempotencyKey}/${nonce}/` };
  }

  async prepareInput(conn: ProviderConnection, input: ProviderInput): Promise<PreparedInput> {
    const plan = await this.translate(input);
    const folder = await this.partFolder(input);
    const key = `${folder.prefix}input/records.jsonl`;
    const uri = `s3://${folder.bucket}/${key}`;
    const { s3 } = this.client(conn);
    // Put once: an object of the same size at this run's own key is this part's earlier put.
    const existing = await s3.send(new HeadObjectCommand({ Bucket: folder.bucket, Key: key })).catch((err: unknown) => {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404) return null;
      throw awsFailure(this.info.label, 'look for the uploaded input', err, uri);
    });
    if (existing?.ContentLength !== plan.bytes) {
      await awsCall(this.info.label, 'upload input', () => s3.send(new PutObjectCommand({ Bucket: folder.bucket, Key: key, Body: fs.createReadStream(workFiles(input).records), ContentLength: plan.bytes, ContentType: 'application/jsonl' })), uri);
    }
    return preparedFile(uri);
  }

  async createBatch(conn: ProviderConnection, request: CreateProviderBatch): Promise<Batch> {
    const { input, prepared, completionWindow, metadata } = request;
    const options = this.options(input);
    if (!options.roleArn) throw new ProviderError('invalid_request', `${this.info.label} batches need the roleArn option: the service role Bedrock assumes to read the input and write the output.`);
    const plan = await readJsonFile<Plan>(workFiles(input).plan);
    if (!plan) throw new ProviderError('invalid_request', `The part's records are missing from ${input.workDir}; prepare it first.`);
    const inputUri = requirePreparedFile(prepared, this.info.label);
    const folder = await this.partFolder(input);
    const token = digest(runKey(input.idempotencyKey, await runNonce(input)));
    const hours = BEDROCK_WINDOW_HOURS[completionWindow];
    if (hours === undefined) throw new ProviderError('invalid_request', `${this.info.label} takes completion windows ${Object.keys(BEDROCK_WINDOW_HOURS).join(', ')} (got ${completionWindow}).`);
    const tags = [...Object.entries(metadata ?? {}).map(([key, value]) => ({ key, value })), { key: 'anybatch-part', value: input.idempotencyKey }];
    const { bedrock } = this.client(conn);
    // Sent with the SDK's retries: the token makes a repeat the same job, never a second one.
    const created = await awsCall(this.info.label, 'create job', () =>
      bedrock.send(
        new CreateModelInvocationJobCommand({
          jobName: `anybatch-${token.slice(0, 40)}`,
          roleArn: options.roleArn!,
          modelId: plan.modelId,
          clientRequestToken: token,
          inputDataConfig: { s3InputDataConfig: { s3Uri: inputUri, s3InputFormat: 'JSONL' } },
          outputDataConfig: { s3OutputDataConfig: { s3Uri: uriOf(folder, 'output/') } },
          timeoutDurationInHours: hours,
          modelInvocationType: plan.type,
          tags,
        }),
      ),
    );
    if (!created.jobArn) throw new ProviderError('transient', `${this.info.label} answered the create without a job ARN.`);
    return this.retrieveBatch(conn, created.jobArn);
  }

  private async job(conn: ProviderConnection, id: string, what: string): Promise<BedrockJob> {
    if (!/^arn:aws[\w-]*:bedrock:[\w-]+:\d{12}:model-invocation-job\/[a-z0-9]+$/.test(id)) {
      throw new ProviderError('not_found', `${what}: ${JSON.stringify(id)} is not a ${this.info.label} model invocation job ARN.`);
    }
    const { bedrock } = this.client(conn);
    const { $metadata: _m, ...job } = await awsCall(this.info.label, what, () => bedrock.send(new GetModelInvocationJobCommand({ jobIdentifier: id })));
    return job;
  }

  async retrieveBatch(conn: ProviderConnection, id: string): Promise<Batch> {
    const job = await this.job(conn, id, 'retrieve job');
    const batch = toOpenAIBatch(job);
    // Bedrock writes the manifest when the job ends; until then there is nothing to read.
    if (!isTerminal(batch.status)) return batch;
    const read = await this.jobManifest(conn, (conn.options ?? {}) as BedrockOptions, job);
    if (read.kind === 'read') return toOpenAIBatch(job, read.manifest);
    // A job that failed, expired or was stopped before it answered a record writes no manifest: nothing to say.
    const answered = (job.status === 'Completed' || job.status === 'PartiallyCompleted') && job.processedRecordCount !== 0;
    if (read.kind !== 'missing' || answered) this.warn(conn, `${this.info.label} job ${id}: ${manifestProblem(read)}; its counts are the job's own.`, { job: id });
    return batch;
  }

  /** The job's output folder, refused when it is not under this batch's output root (the worker reads it with its own credentials). */
  private outputFolder(options: BedrockOptions, job: BedrockJob, id: string): S3Location | null {
    const out = job.outputDataConfig?.s3OutputDataConfig?.s3Uri;
    if (!out) return null;
    const folder = parseS3Uri(out, 'the job output');
    const root = outputRoot(options, this.info.label);
    if (!isUnder(root, folder)) throw new ProviderError('permission', `${this.info.label} job ${id} writes to ${out}, outside this batch's output root ${uriOf(root)}.`);
    return folder;
  }

  /** The job's `manifest.json.out`, or what kept it from being read (never a failure: the manifest is optional). */
  private async jobManifest(conn: ProviderConnection, options: BedrockOptions, job: BedrockJob): Promise<ManifestRead> {
    const id = job.jobArn ?? '';
    let folder: S3Location | null;
    try {
      folder = this.outputFolder(options, job, id);
    } catch (err) {
      return { kind: 'unreadable', problem: (err as Error).message };
    }
    if (!folder) return { kind: 'missing' };
    return readManifest(this.getObject(conn), folder.bucket, manifestKey(folder, jobIdOf(id)), this.info.label);
  }

  private getObject(conn: ProviderConnection): GetObject {
    const { s3 } = this.client(conn);
    return (bucket, key) => s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  }

  /** The worker's log in an activity; a process warning elsewhere. */
  private warn(conn: ProviderConnection, message: string, attrs: Record<string, unknown>): void {
    if (conn.log) conn.log.warn(message, attrs);
    else process.emitWarning(message);
  }

  async cancelBatch(conn: ProviderConnection, id: string): Promise<Batch> {
    const { bedrock } = this.client(conn);
    try {
      await awsCall(this.info.label, 'stop job', () => bedrock.send(new StopModelInvocationJobCommand({ jobIdentifier: id })));
    } catch (err) {
      // A job that ended meanwhile cannot be stopped; its current state is the answer.
      if (!(err instanceof ProviderError && err.kind === 'invalid_request')) throw err;
    }
    return this.retrieveBatch(conn, id);
  }

  async *readResults(conn: ProviderConnection, batch: Batch, input: ProviderInput): AsyncIterable<ResultLine> {
    const job = await this.job(conn, batch.id, 'read results');
    // The job's output folder must still be one this batch may read (the job is this part's own, under its root).
    const folder = this.outputFolder(this.options(input), job, batch.id);
    if (!folder) return;
    const prefix = `${folder.prefix}${jobIdOf(batch.id)}/`;
    const manifest = manifestKey(folder, jobIdOf(batch.id));
    const { s3 } = this.client(conn);
    const keys: string[] = [];
    let hasManifest = false;
    let token: string | undefined;
    do {
      const page = await awsCall(this.info.label, 'list outputs', () => s3.send(new ListObjectsV2Command({ Bucket: folder.bucket, Prefix: prefix, ContinuationToken: token })), `s3://${folder.bucket}/${prefix}`);
      for (const object of page.Contents ?? []) {
        if (object.Key?.endsWith('.jsonl.out')) keys.push(object.Key);
        else if (object.Key === manifest) hasManifest = true;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    if (keys.length === 0) return;
    // Record n is line n of the part.
    const ids = await partCustomIds(input);
    const type: InvocationType = job.modelInvocationType === 'Converse' ? 'Converse' : 'InvokeModel';
    const opts = { type, model: job.modelId ?? '', createdAt: batch.completed_at ?? batch.cancelled_at ?? batch.expired_at ?? batch.created_at };
    const maxLineBytes = maxResultLineBytes(this.capabilities);
    const counted: LinesRead = { succeeded: 0, failed: 0, requests: input.requestCount };
    for (const key of keys) {
      const where = `s3://${folder.bucket}/${key}`;
      const object = await awsCall(this.info.label, 'download results', () => s3.send(new GetObjectCommand({ Bucket: folder.bucket, Key: key })), where);
      try {
        const lines = readJsonLines<OutputRecord>(object.Body as Readable, { source: where, expectedBytes: object.ContentLength ?? null, maxLineBytes, malformed: 'report' });
        for await (const line of lines) {
          // An unreadable line names no record anybatch can trust: its request is reported missing by the writer.
          if (line instanceof MalformedLine) continue;
          const index = recordIndex(line.recordId);
          const customId = index === null ? undefined : ids[index];
          if (customId === undefined) continue;
          // As toOpenAIResultLine reads them: an error object is Bedrock's error, else a model output is an answer.
          if (typeof line.error === 'object' && line.error !== null) counted.failed += 1;
          else if (typeof line.modelOutput === 'object' && line.modelOutput !== null) counted.succeeded += 1;
          yield toOpenAIResultLine(line, customId, opts);
        }
      } catch (err) {
        // A cut-off download is a transient fault: the activity retries and writes nothing short.
        throw err instanceof ProviderError ? err : new ProviderError('transient', `download of ${where} failed: ${(err as Error).message}`, { cause: err });
      }
    }
    // Every line is out: the manifest is checked against them, and only logged where it disagrees (the lines stand).
    // Without one, retrieveBatch has already said so.
    if (!hasManifest) return;
    const read = await readManifest(this.getObject(conn), folder.bucket, manifest, this.info.label);
    const problem = read.kind === 'read' ? manifestDisagreement(read.manifest, counted, batch.id) : `${this.info.label} job ${batch.id}: ${manifestProblem(read)}; the results follow the output lines.`;
    if (problem) this.warn(conn, problem, { job: batch.id });
  }
}

/** Why a manifest was not read, in a clause. */
function manifestProblem(read: Exclude<ManifestRead, { kind: 'read' }>): string {
  if (read.kind === 'missing') return 'no manifest.json.out beside its output';
  return read.kind === 'malformed' ? `its manifest.json.out is not a manifest: ${read.problem}` : `its manifest.json.out could not be read: ${read.problem}`;
}
