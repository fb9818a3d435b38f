/**
 * Vertex AI's batch prediction REST routes below `/vertexai`, in both `v1` and `v1beta1` (@google/genai 2.32.0 and
 * google-genai 3.6.1 send `v1beta1` unless told otherwise; docs/provider-apis-3.md section 2 "REST"):
 * `POST|GET /{v}/projects/{p}/locations/{l}/batchPredictionJobs`, `GET|DELETE .../batchPredictionJobs/{id}`,
 * `POST .../batchPredictionJobs/{id}:cancel`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { sendJson } from '../../kernel/http';
import { compare } from '../../kernel/pagination';
import type { Kernel, Route, RouteInput } from '../../kernel/provider';
import { vertexError } from './errors';
import { newNumericId } from './ids';
import { decodePageToken, pageOf, parseFilter, parsePageSize } from './list';
import { modelAllowed, type VertexModel } from './model';
import { parseJobSpec } from './spec';
import type { VertexJobStore } from './store';
import { deleteOperationJson } from './wire';

export interface VertexContext {
  kernel: Kernel;
  store: VertexJobStore;
}

const MAX_BODY_BYTES = 1024 * 1024;

async function readBody(input: RouteInput): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw vertexError(400, `Request payload size exceeds the limit: ${MAX_BODY_BYTES} bytes.`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw vertexError(400, 'Invalid JSON payload received.');
  }
}

/** Vertex's 404 for a model that does not exist (or that the project may not use). */
function unknownModel(model: VertexModel, project: string, location: string): Error {
  if (model.publisher === null) return vertexError(404, `The Model ${model.name} does not exist.`);
  return vertexError(
    404,
    `Publisher Model \`projects/${project}/locations/${location}/publishers/${model.publisher}/models/${model.id}\` not found.`,
  );
}

async function createJob(ctx: VertexContext, input: RouteInput): Promise<void> {
  const [, project, location] = input.params;
  const spec = parseJobSpec(await readBody(input));
  const { faults } = ctx.kernel;
  const current = faults.current;
  if (!modelAllowed(spec.model, current.models)) throw unknownModel(spec.model, project, location);
  const job = await ctx.store.create(spec, project, location, {
    failValidation: current.failValidation === true,
    expireAfterSeconds: current.expireAfterSeconds,
    requestFault: faults.requestFault(),
  });
  if (current.createResponseDelayMs) await sleep(current.createResponseDelayMs);
  if (faults.losesCreateResponse(input.res)) return;
  sendJson(input.res, 200, await ctx.store.json(job));
}

async function getJob(ctx: VertexContext, input: RouteInput): Promise<void> {
  const [, project, location, id] = input.params;
  sendJson(input.res, 200, await ctx.store.json(ctx.store.job(project, location, id)));
}

async function listJobs(ctx: VertexContext, input: RouteInput): Promise<void> {
  const [, project, location] = input.params;
  const { searchParams } = input.url;
  const filter = parseFilter(searchParams.get('filter'));
  const size = parsePageSize(searchParams.get('pageSize'));
  const after = decodePageToken(searchParams.get('pageToken'));
  const entries = ctx.store.book
    .entries()
    .filter((e) => e.value.project === project && e.value.location === location)
    .sort((a, b) => compare(b.key, a.key));
  const states = await Promise.all(entries.map((e) => ctx.store.settle(e.value)));
  const matching = entries.filter((e, i) => filter(e.value, states[i].state));
  let start = 0;
  if (after !== null) {
    // The token names the last job served; the page goes on with the next older one, even if that job is gone.
    const key = ctx.store.book.keyOf(after);
    if (!key) throw vertexError(400, 'Invalid page token.');
    start = matching.findIndex((e) => compare(e.key, key) < 0);
    if (start < 0) start = matching.length;
  }
  const page = pageOf(
    matching.map((e) => e.value),
    start,
    size,
  );
  const jobs = await Promise.all(page.items.map((job) => ctx.store.json(job)));
  sendJson(input.res, 200, { ...(jobs.length > 0 ? { batchPredictionJobs: jobs } : {}), ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) });
}

async function cancelJob(ctx: VertexContext, input: RouteInput): Promise<void> {
  const [, project, location, id] = input.params;
  await readBody(input);
  await ctx.store.cancel(ctx.store.job(project, location, id));
  sendJson(input.res, 200, {});
}

async function deleteJob(ctx: VertexContext, input: RouteInput): Promise<void> {
  const [version, project, location, id] = input.params;
  await ctx.store.delete(ctx.store.job(project, location, id));
  const operation = `projects/${project}/locations/${location}/operations/${newNumericId()}`;
  sendJson(input.res, 200, deleteOperationJson(operation, version, ctx.kernel.now()));
}

const JOBS = '^/(v1|v1beta1)/projects/([^/]+)/locations/([^/]+)/batchPredictionJobs';
const ID = '([^/:]+)';

export function vertexRoutes(ctx: VertexContext): Route[] {
  const bind = (handler: (ctx: VertexContext, input: RouteInput) => Promise<void>) => (input: RouteInput) => handler(ctx, input);
  return [
    { method: 'POST', pattern: new RegExp(`${JOBS}$`), handler: bind(createJob) },
    { method: 'GET', pattern: new RegExp(`${JOBS}$`), handler: bind(listJobs) },
    { method: 'GET', pattern: new RegExp(`${JOBS}/${ID}$`), handler: bind(getJob) },
    { method: 'POST', pattern: new RegExp(`${JOBS}/${ID}:cancel$`), handler: bind(cancelJob) },
    { method: 'DELETE', pattern: new RegExp(`${JOBS}/${ID}$`), handler: bind(deleteJob) },
  ];
}
