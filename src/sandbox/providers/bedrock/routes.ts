/**
 * Bedrock's batch inference control plane below `/bedrock` (docs/provider-apis-3.md §1, the operations table; methods
 * and paths as `@aws-sdk/client-bedrock` 3.1178.0 declares them, `CreateModelInvocationJob$` and the rest):
 * `POST /model-invocation-job`, `GET /model-invocation-job/{jobIdentifier}`,
 * `POST /model-invocation-job/{jobIdentifier}/stop`, `GET /model-invocation-jobs`. Every answer is 200.
 */
import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, readJsonBody, sendJson } from '../../kernel/http';
import type { Kernel, Route, RouteInput } from '../../kernel/provider';
import { credentialOf, DEFAULT_REGION } from './auth';
import { bedrockError } from './errors';
import { listJobs, parseListQuery } from './list';
import { supported } from './models';
import { parseCreateRequest, sameRequest } from './request';
import type { BedrockJobStore } from './store';

export interface BedrockContext {
  kernel: Kernel;
  store: BedrockJobStore;
}

/** The kernel's body reader, its refusals reworded as Bedrock's. */
async function readBody(req: IncomingMessage): Promise<unknown> {
  try {
    return await readJsonBody(req);
  } catch (err) {
    if (err instanceof ApiError) throw bedrockError('ValidationException', err.message.startsWith('We could not parse') ? 'The request body is not valid JSON.' : err.message);
    throw err;
  }
}

async function createJob(ctx: BedrockContext, { req, res }: RouteInput): Promise<void> {
  const spec = parseCreateRequest(await readBody(req));
  if (!supported(spec.modelId, spec.invocationType)) {
    throw bedrockError(
      'ValidationException',
      `The model ${spec.modelId} is not supported for batch inference with the InvokeModel invocation type in the sandbox (it answers anthropic.* and amazon.nova* models; use modelInvocationType Converse for others).`,
    );
  }
  if (spec.clientRequestToken !== null) {
    const earlier = ctx.store.byClientToken(spec.clientRequestToken);
    // "If this token matches a previous request, Amazon Bedrock ignores the request, but does not return an error."
    // A token reused with other parameters is refused, as AWS's idempotency guide prescribes (there called
    // IdempotentParameterMismatch; Bedrock's model has no such type, so its ConflictException).
    if (earlier && sameRequest(earlier.spec, spec)) return sendJson(res, 200, { jobArn: earlier.arn });
    if (earlier) {
      throw bedrockError('ConflictException', `The clientRequestToken ${spec.clientRequestToken} was already used by a request with different parameters (job ${earlier.arn}).`);
    }
  }
  const faults = ctx.kernel.faults.current;
  const job = ctx.store.create(spec, credentialOf(req)?.region ?? DEFAULT_REGION, {
    failValidation: faults.failValidation === true,
    models: faults.models,
    expireAfterSeconds: faults.expireAfterSeconds,
    requestFault: ctx.kernel.faults.requestFault(),
  });
  if (faults.createResponseDelayMs) await sleep(faults.createResponseDelayMs);
  if (ctx.kernel.faults.losesCreateResponse(res)) return;
  sendJson(res, 200, { jobArn: job.arn });
}

async function getJob(ctx: BedrockContext, { res, params }: RouteInput): Promise<void> {
  const job = ctx.store.find(params[0]);
  sendJson(res, 200, ctx.store.toJson(job, await ctx.store.settle(job)));
}

async function stopJob(ctx: BedrockContext, { req, res, params }: RouteInput): Promise<void> {
  await readBody(req);
  await ctx.store.stop(ctx.store.find(params[0]));
  sendJson(res, 200, {});
}

async function listAll(ctx: BedrockContext, { res, url }: RouteInput): Promise<void> {
  sendJson(res, 200, await listJobs(ctx.store, parseListQuery(url.searchParams)));
}

export function bedrockRoutes(ctx: BedrockContext): Route[] {
  const bind = (handler: (ctx: BedrockContext, input: RouteInput) => Promise<void>) => (input: RouteInput) => handler(ctx, input);
  // The identifier is an ARN the SDK URL-encodes (its '/' as %2F); an unencoded one spans segments, so the
  // patterns take everything up to the fixed tail.
  return [
    { method: 'POST', pattern: /^\/model-invocation-job$/, handler: bind(createJob) },
    { method: 'GET', pattern: /^\/model-invocation-jobs$/, handler: bind(listAll) },
    { method: 'POST', pattern: /^\/model-invocation-job\/(.+)\/stop$/, handler: bind(stopJob) },
    { method: 'GET', pattern: /^\/model-invocation-job\/(.+)$/, handler: bind(getJob) },
  ];
}
