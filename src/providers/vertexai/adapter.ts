/**
 * Vertex AI batch prediction through the official `@google/genai` (Vertex mode) and Cloud Storage (./gcs.ts), per
 * provider-apis-3.md section 2. A part's requests are translated (./records.ts) into `{request}` lines in its work
 * folder, uploaded under the batch's own folder of the output prefix
 * (`<outputUriPrefix><batch id>/<part>/<run nonce>/input/requests.jsonl`), and a job is created reading it and writing
 * beside it (`.../output/`, where Vertex adds `prediction-model-<time>/predictions.jsonl`). Results are joined back on
 * the request ids the lines carry in their labels.
 *
 * Idempotency: Vertex's create takes no token, so the job's `displayName` is the part's run key
 * (`anybatch:<batch id>/<part>#<run nonce>`) and a retry finds an earlier job of that name by listing, as the Gemini
 * adapter does; the create itself is sent once (no SDK retry).
 *
 * Trust: the worker writes with its own Google credentials, so the output prefix must be under an entry of
 * ANYBATCH_VERTEX_GCS_URIS (the first is the default); a prefix a workflow input names elsewhere is refused.
 */
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import type { Batch } from '../../contract/batch';
import { MalformedLine, readJsonLines, splitLines } from '../../results/jsonl';
import { maxResultLineBytes } from '../../results/malformed';
import { folderUri, foldersFromEnv, isUnder } from '../bucket-folders';
import { partCustomIds } from '../custom-ids';
import { renameDurably } from '../../storage/fsync';
import type { ProviderCapabilities } from '../capabilities';
import { geminiCalls } from '../gemini/errors';
import type { ProviderInfo } from '../http-errors';
import { readJsonFile, runKey, runNonce, writeDurable } from '../run-nonce';
import { preparedFile, requirePreparedFile, ProviderError } from '../types';
import type { CreateProviderBatch, PreparedInput, ProviderAdapter, ProviderConnection, ProviderInput, RequestCheck, ResultLine } from '../types';
import { toOpenAIBatch, type VertexJob } from './batch-object';
import { VertexClients, type VertexClient } from './client';
import { parseGcsUri, type GcsLocation, type VertexOptions } from './options';
import { checkVertexRequest, predictionIndex, publisherModel, toOpenAIResultLine, vertexLine, type PredictionLine } from './records';
import { partChunks } from '../part-input';

export const VERTEX_GCS_URIS_ENV = 'ANYBATCH_VERTEX_GCS_URIS';
const PAGE = 100;
const MAX_SCAN = 10_000;
const JOB_NAME = /^projects\/[\w-]+\/locations\/[\w-]+\/batchPredictionJobs\/\d+$/;

interface Plan {
  model: string;
  requests: number;
  bytes: number;
}

function workFiles(input: ProviderInput) {
  return { requests: path.join(input.workDir, 'vertex-requests.jsonl'), plan: path.join(input.workDir, 'vertex-plan.json') };
}

const uriOf = (loc: GcsLocation, name = '') => folderUri('gs', loc, name);

/** The output prefix of a batch: its `outputUriPrefix`, or the first allowed entry; refused when not allowed. */
export function outputPrefix(options: VertexOptions, label = 'Vertex AI'): GcsLocation {
  const allowed = foldersFromEnv('gs', VERTEX_GCS_URIS_ENV);
  const root = options.outputUriPrefix !== undefined ? parseGcsUri(options.outputUriPrefix, 'outputUriPrefix') : allowed[0];
  if (!root) {
    throw new ProviderError('invalid_request', `${label} batches need a Cloud Storage folder for the job's input and output: pass the outputUriPrefix option (gs://bucket/prefix/), or set ${VERTEX_GCS_URIS_ENV} on the worker.`);
  }
  if (!allowed.some((a) => isUnder(a, root))) {
    throw new ProviderError(
      'permission',
      `outputUriPrefix ${uriOf(root)} is not under an entry of ${VERTEX_GCS_URIS_ENV}: the worker writes there with its own Google credentials, so its operator must allow it (${VERTEX_GCS_URIS_ENV}=gs://bucket/prefix/).`,
    );
  }
  return root;
}

export class VertexAdapter implements ProviderAdapter {
  private readonly clients: VertexClients;
  private readonly call: ReturnType<typeof geminiCalls>['call'];

  constructor(
    readonly capabilities: ProviderCapabilities,
    private readonly info: ProviderInfo,
  ) {
    this.clients = new VertexClients(info);
    this.call = geminiCalls(info).call;
  }

  private client(conn: ProviderConnection): VertexClient {
    return this.clients.get(conn);
  }

  checkRequest(payload: Record<string, unknown>): RequestCheck {
    return checkVertexRequest(payload);
  }

  sentBytes(line: Buffer): number {
    const parsed = JSON.parse(line.toString('utf8')) as { body?: Record<string, unknown> };
    try {
      return Buffer.byteLength(vertexLine(0, parsed.body ?? {}).line);
    } catch {
      return line.length + 1;
    }
  }

  private async translate(input: ProviderInput): Promise<Plan> {
    const files = workFiles(input);
    const earlier = await readJsonFile<Plan>(files.plan);
    if (earlier) return earlier;
    await fs.promises.mkdir(input.workDir, { recursive: true });
    const out = fs.createWriteStream(files.requests + '.tmp');
    let model: string | null = null;
    let requests = 0;
    let bytes = 0;
    try {
      for await (const raw of splitLines(partChunks(input))) {
        if (raw.length === 0) continue;
        const parsed = JSON.parse(raw.toString('utf8')) as { body?: Record<string, unknown> };
        const mapped = vertexLine(requests, parsed.body ?? {});
        model ??= mapped.model;
        requests += 1;
        bytes += Buffer.byteLength(mapped.line);
        if (!out.write(mapped.line)) await once(out, 'drain');
      }
      await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    } catch (err) {
      out.destroy();
      await fs.promises.rm(files.requests + '.tmp', { force: true });
      throw err;
    }
    if (model === null) throw new ProviderError('invalid_request', `The part ${input.path} holds no requests.`);
    const plan: Plan = { model, requests, bytes };
    await renameDurably(files.requests + '.tmp', files.requests);
    await writeDurable(files.plan, JSON.stringify(plan));
    return plan;
  }

  private async partFolder(input: ProviderInput): Promise<GcsLocation> {
    const root = outputPrefix(input.options as VertexOptions, this.info.label);
    return { bucket: root.bucket, prefix: `${root.prefix}${input.idempotencyKey}/${await runNonce(input)}/` };
  }

  async prepareInput(conn: ProviderConnection, input: ProviderInput): Promise<PreparedInput> {
    const plan = await this.translate(input);
    const folder = await this.partFolder(input);
    const name = `${folder.prefix}input/requests.jsonl`;
    const { gcs } = this.client(conn);
    // Uploaded once: an object of the same size at this run's own name is this part's earlier upload.
    if ((await gcs.size(folder.bucket, name)) !== plan.bytes) await gcs.upload(folder.bucket, name, workFiles(input).requests, plan.bytes);
    return preparedFile(`gs://${folder.bucket}/${name}`);
  }

  async createBatch(conn: ProviderConnection, request: CreateProviderBatch): Promise<Batch> {
    const { input, prepared } = request;
    const plan = await readJsonFile<Plan>(workFiles(input).plan);
    if (!plan) throw new ProviderError('invalid_request', `The part's requests are missing from ${input.workDir}; prepare it first.`);
    const src = requirePreparedFile(prepared, this.info.label);
    const folder = await this.partFolder(input);
    const displayName = `anybatch:${runKey(input.idempotencyKey, await runNonce(input))}`;
    const { ai } = this.client(conn);
    const earlier = await this.call('list jobs', async () => {
      let scanned = 0;
      for await (const job of await ai.batches.list({ config: { pageSize: PAGE } })) {
        const created = job.createTime ? Date.parse(job.createTime) / 1000 : Infinity;
        if (job.displayName === displayName && created >= input.notBefore) return job;
        if (++scanned >= MAX_SCAN) break;
      }
      return null;
    });
    if (earlier?.name) return this.retrieve(conn, earlier.name, plan.requests);
    // One attempt: a create re-sent after a lost answer would be a second job (the listing above finds the first).
    const job = await this.call('create job', () =>
      ai.batches.create({ model: publisherModel(plan.model), src, config: { dest: uriOf(folder, 'output/'), displayName, httpOptions: { retryOptions: { attempts: 1 } } } }),
    );
    if (!job.name) throw new ProviderError('transient', `${this.info.label} answered the create without a job name.`);
    return this.retrieve(conn, job.name, plan.requests);
  }

  private async job(conn: ProviderConnection, id: string, what: string): Promise<VertexJob> {
    if (!JOB_NAME.test(id)) throw new ProviderError('not_found', `${what}: ${JSON.stringify(id)} is not a ${this.info.label} batch prediction job name (projects/.../batchPredictionJobs/<digits>).`);
    const { raw } = this.client(conn);
    return this.call(what, async () => (await (await raw.request({ path: id, httpMethod: 'GET' })).json()) as VertexJob);
  }

  private async retrieve(conn: ProviderConnection, id: string, total: number | null): Promise<Batch> {
    return toOpenAIBatch(await this.job(conn, id, 'retrieve job'), total);
  }

  async retrieveBatch(conn: ProviderConnection, id: string): Promise<Batch> {
    return this.retrieve(conn, id, null);
  }

  async cancelBatch(conn: ProviderConnection, id: string): Promise<Batch> {
    const { ai } = this.client(conn);
    try {
      await this.call('cancel job', () => ai.batches.cancel({ name: id }));
    } catch (err) {
      // A job that ended meanwhile cannot be cancelled; its current state is the answer.
      if (!(err instanceof ProviderError && err.kind === 'invalid_request')) throw err;
    }
    return this.retrieveBatch(conn, id);
  }

  async *readResults(conn: ProviderConnection, batch: Batch, input: ProviderInput): AsyncIterable<ResultLine> {
    const job = await this.job(conn, batch.id, 'read results');
    const dir = job.outputInfo?.gcsOutputDirectory;
    if (!dir) return;
    const out = parseGcsUri(dir, 'the job output');
    const root = outputPrefix(input.options as VertexOptions, this.info.label);
    if (!isUnder(root, out)) {
      throw new ProviderError('permission', `${this.info.label} job ${batch.id} wrote to ${dir}, outside this batch's output prefix ${uriOf(root)}.`);
    }
    const { gcs } = this.client(conn);
    const names: string[] = [];
    for await (const object of gcs.list(out.bucket, out.prefix)) if (/\.jsonl?$/.test(object.name)) names.push(object.name);
    if (names.length === 0) return;
    // Record n is line n of the part.
    const ids = await partCustomIds(input);
    const opts = { model: (job.model ?? '').replace(/^.*\/models\//, ''), createdAt: batch.completed_at ?? batch.cancelled_at ?? batch.expired_at ?? batch.created_at };
    const maxLineBytes = maxResultLineBytes(this.capabilities);
    for (const name of names) {
      const where = `gs://${out.bucket}/${name}`;
      const { stream, bytes } = await gcs.download(out.bucket, name);
      try {
        for await (const line of readJsonLines<PredictionLine>(stream, { source: where, expectedBytes: bytes, maxLineBytes, malformed: 'report' })) {
          // An unreadable line names no request anybatch can trust: the writer reports its request missing.
          if (line instanceof MalformedLine) continue;
          const index = predictionIndex(line);
          const customId = index === null ? undefined : ids[index];
          if (customId !== undefined) yield toOpenAIResultLine(line, customId, opts);
        }
      } catch (err) {
        throw err instanceof ProviderError ? err : new ProviderError('transient', `download of ${where} failed: ${(err as Error).message}`, { cause: err });
      }
    }
  }
}
