/**
 * The bedrock module through the official `@aws-sdk/client-bedrock`, unchanged, at `<url>/bedrock`, with an S3 that
 * cannot be reached (the S3 round trips are the integration suite's, test/integration/sandbox-bedrock.test.ts): the
 * control plane's routes and job object, the create's constraints and idempotency, the SigV4 admission, AWS's error
 * shape as the SDK's typed exceptions (the kernel's faults included), lost create answers, stop, list, stats, and an
 * unreachable input failing its job with a message naming the S3 URI. The sandbox's clock is the test's.
 */
import net from 'node:net';
import {
  BedrockClient,
  BedrockServiceException,
  ConflictException,
  CreateModelInvocationJobCommand,
  GetModelInvocationJobCommand,
  InternalServerException,
  ListModelInvocationJobsCommand,
  ResourceNotFoundException,
  ServiceUnavailableException,
  StopModelInvocationJobCommand,
  ThrottlingException,
  ValidationException,
  type CreateModelInvocationJobCommandInput,
} from '@aws-sdk/client-bedrock';
import { startSandbox, type Sandbox } from '../../src/sandbox';

// The SDK pins a version whose warning is about later versions needing Node 22 (as src/storage/s3.ts says).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const CLAUDE = 'anthropic.claude-3-5-haiku-20241022-v1:0';
const VALIDATION_MS = 300;
const CANCELLING_MS = 300;

let sandbox: Sandbox;
let client: BedrockClient;
let clock = Date.parse('2026-12-01T12:00:00Z');
let deadS3: string;

/** A local port nothing listens on: S3 there is unreachable. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function bedrockClient(url: string, accessKeyId = 'AKIDSANDBOX', region = 'eu-west-3'): BedrockClient {
  return new BedrockClient({ region, endpoint: `${url}/bedrock`, credentials: { accessKeyId, secretAccessKey: 'secret' }, maxAttempts: 1 });
}

beforeAll(async () => {
  deadS3 = `http://127.0.0.1:${await closedPort()}`;
  sandbox = await startSandbox({
    validationMs: VALIDATION_MS,
    cancellingMs: CANCELLING_MS,
    rate: 100,
    now: () => clock,
    s3: { endpoint: deadS3, region: 'us-east-1', credentials: { accessKeyId: 'k', secretAccessKey: 's' } },
  });
  client = bedrockClient(sandbox.url);
});
afterAll(async () => {
  client?.destroy();
  await sandbox?.close();
});
afterEach(() => sandbox.setFaults({}));

function jobInput(change: Partial<CreateModelInvocationJobCommandInput> = {}): CreateModelInvocationJobCommandInput {
  return {
    jobName: `http-${Math.random().toString(36).slice(2, 10)}`,
    roleArn: 'arn:aws:iam::123456789012:role/BedrockBatch',
    modelId: CLAUDE,
    inputDataConfig: { s3InputDataConfig: { s3Uri: 's3://anybatch-test/bedrock/in/data.jsonl' } },
    outputDataConfig: { s3OutputDataConfig: { s3Uri: 's3://anybatch-test/bedrock/out/' } },
    ...change,
  };
}

async function rejection(promise: Promise<unknown>): Promise<BedrockServiceException> {
  try {
    await promise;
  } catch (err) {
    return err as BedrockServiceException;
  }
  throw new Error('expected the call to fail');
}

const get = (jobIdentifier: string) => client.send(new GetModelInvocationJobCommand({ jobIdentifier }));

test('the base URL follows the one rule: <url>/bedrock', () => {
  expect(sandbox.baseUrls.bedrock).toBe(`${sandbox.url}/bedrock`);
});

test('create answers a job ARN in the signing region; get by ARN or id answers the job object, timestamps as Dates', async () => {
  const input = jobInput({ clientRequestToken: 'tok-get-1', tags: [{ key: 'batch', value: 'ab_1' }], timeoutDurationInHours: 48, modelInvocationType: 'InvokeModel' });
  const created = await client.send(new CreateModelInvocationJobCommand(input));
  expect(created.jobArn).toMatch(/^arn:aws:bedrock:eu-west-3:123456789012:model-invocation-job\/[a-z0-9]{12}$/);
  expect(created.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
  const id = created.jobArn!.split('/')[1];
  const job = await get(created.jobArn!);
  expect(job).toMatchObject({
    jobArn: created.jobArn,
    jobName: input.jobName,
    modelId: CLAUDE,
    roleArn: input.roleArn,
    clientRequestToken: 'tok-get-1',
    status: 'Submitted',
    inputDataConfig: input.inputDataConfig,
    outputDataConfig: input.outputDataConfig,
    timeoutDurationInHours: 48,
    modelInvocationType: 'InvokeModel',
    totalRecordCount: 0,
    processedRecordCount: 0,
  });
  expect(job.submitTime).toEqual(new Date(clock));
  expect(job.jobExpirationTime).toEqual(new Date(clock + 48 * 3600 * 1000));
  expect(job.endTime).toBeUndefined();
  expect((await get(id)).jobArn).toBe(created.jobArn);
});

test('an input S3 cannot serve fails the job at validation, the message naming the s3 URI', async () => {
  const created = await client.send(new CreateModelInvocationJobCommand(jobInput({ inputDataConfig: { s3InputDataConfig: { s3Uri: 's3://anybatch-test/unreachable/in.jsonl' } } })));
  clock += VALIDATION_MS;
  const job = await get(created.jobArn!);
  expect(job.status).toBe('Failed');
  expect(job.message).toMatch(/^Unable to read the input data at s3:\/\/anybatch-test\/unreachable\/in\.jsonl: /);
  expect(job.endTime).toBeInstanceOf(Date);
});

test('the create constraints come back as ValidationException', async () => {
  const short = await rejection(client.send(new CreateModelInvocationJobCommand(jobInput({ timeoutDurationInHours: 12 }))));
  expect(short).toBeInstanceOf(ValidationException);
  expect(short.message).toContain("Value '12' at 'timeoutDurationInHours' failed to satisfy constraint: Member must have value greater than or equal to 24");
  expect(short.$metadata.httpStatusCode).toBe(400);
  const llama = await rejection(client.send(new CreateModelInvocationJobCommand(jobInput({ modelId: 'meta.llama3-1-70b-instruct-v1:0' }))));
  expect(llama).toBeInstanceOf(ValidationException);
  expect(llama.message).toContain('not supported for batch inference with the InvokeModel invocation type');
  // The same model under Converse is accepted.
  const converse = await client.send(new CreateModelInvocationJobCommand(jobInput({ modelId: 'meta.llama3-1-70b-instruct-v1:0', modelInvocationType: 'Converse' })));
  expect((await get(converse.jobArn!)).modelInvocationType).toBe('Converse');
});

test('a clientRequestToken seen before answers the same job and makes none; with other parameters it is a ConflictException', async () => {
  const before = sandbox.stats().providers.bedrock.batchesCreated;
  const input = jobInput({ clientRequestToken: 'tok-idem-1' });
  const first = await client.send(new CreateModelInvocationJobCommand(input));
  const again = await client.send(new CreateModelInvocationJobCommand(input));
  expect(again.jobArn).toBe(first.jobArn);
  expect(sandbox.stats().providers.bedrock.batchesCreated).toBe(before + 1);
  const conflict = await rejection(client.send(new CreateModelInvocationJobCommand({ ...input, jobName: 'another-name' })));
  expect(conflict).toBeInstanceOf(ConflictException);
  expect(conflict.$metadata.httpStatusCode).toBe(400);
  expect(conflict.message).toContain('tok-idem-1');
});

test('an unknown job is a ResourceNotFoundException; a malformed identifier a ValidationException', async () => {
  const missing = await rejection(get('arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/zzzzzzzzzzzz'));
  expect(missing).toBeInstanceOf(ResourceNotFoundException);
  expect(missing.$metadata.httpStatusCode).toBe(404);
  expect(await rejection(get('not-a-job'))).toBeInstanceOf(ValidationException);
});

test("every request needs SigV4 credentials: none is a 403 in AWS's error shape", async () => {
  const res = await fetch(`${sandbox.url}/bedrock/model-invocation-jobs`);
  expect(res.status).toBe(403);
  expect(res.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
  expect(res.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
  expect(await res.json()).toEqual({ message: 'Missing Authentication Token' });
});

test('with an API key set, another access key id is refused as AWS refuses an unknown one', async () => {
  const locked = await startSandbox({ apiKey: 'AKIDRIGHT', now: () => clock });
  try {
    const wrong = await rejection(bedrockClient(locked.url, 'AKIDWRONG').send(new ListModelInvocationJobsCommand({})));
    expect([wrong.name, wrong.$metadata.httpStatusCode, wrong.message]).toEqual(['UnrecognizedClientException', 403, 'The security token included in the request is invalid.']);
    expect((await bedrockClient(locked.url, 'AKIDRIGHT').send(new ListModelInvocationJobsCommand({}))).invocationJobSummaries).toEqual([]);
  } finally {
    await locked.close();
  }
});

test("injected faults reach the SDK as its typed exceptions: 429 Throttling, 500 InternalServer, a forced 503 ServiceUnavailable", async () => {
  sandbox.setFaults({ rate429: 1 });
  const throttled = await rejection(client.send(new ListModelInvocationJobsCommand({})));
  expect(throttled).toBeInstanceOf(ThrottlingException);
  expect(throttled.$metadata.httpStatusCode).toBe(429);
  sandbox.setFaults({ rate500: 1 });
  expect(await rejection(client.send(new ListModelInvocationJobsCommand({})))).toBeInstanceOf(InternalServerException);
  sandbox.setFaults({ forceStatus: 503 });
  expect(await rejection(get('zzzzzzzzzzzz'))).toBeInstanceOf(ServiceUnavailableException);
});

test('a lost create answer: the job exists and is listed, and a retry with the same clientRequestToken finds it instead of making another', async () => {
  const input = jobInput({ clientRequestToken: 'tok-lost-1' });
  sandbox.setFaults({ loseCreateResponses: 1, lostCreateStatus: 503 });
  const before = sandbox.stats().providers.bedrock.batchesCreated;
  expect(await rejection(client.send(new CreateModelInvocationJobCommand(input)))).toBeInstanceOf(ServiceUnavailableException);
  const listed = await client.send(new ListModelInvocationJobsCommand({ nameContains: input.jobName }));
  expect(listed.invocationJobSummaries).toHaveLength(1);
  const retried = await client.send(new CreateModelInvocationJobCommand(input));
  expect(retried.jobArn).toBe(listed.invocationJobSummaries![0].jobArn);
  expect(sandbox.stats().providers.bedrock.batchesCreated).toBe(before + 1);
  expect(sandbox.stats().faults.lostCreates).toBeGreaterThanOrEqual(1);
});

test('stop: Stopping, then Stopped after the cancelling time; a job that ended cannot be stopped', async () => {
  const before = sandbox.stats().providers.bedrock;
  const created = await client.send(new CreateModelInvocationJobCommand(jobInput()));
  expect(await client.send(new StopModelInvocationJobCommand({ jobIdentifier: created.jobArn }))).toMatchObject({ $metadata: { httpStatusCode: 200 } });
  expect((await get(created.jobArn!)).status).toBe('Stopping');
  clock += CANCELLING_MS;
  const stopped = await get(created.jobArn!);
  expect(stopped.status).toBe('Stopped');
  expect(stopped.endTime).toEqual(new Date(clock));
  const again = await rejection(client.send(new StopModelInvocationJobCommand({ jobIdentifier: created.jobArn })));
  expect(again).toBeInstanceOf(ValidationException);
  const after = sandbox.stats().providers.bedrock;
  expect(after.batchCancels).toBe(before.batchCancels + 1);
  expect(after.batchesByStatus.Stopped).toBe((before.batchesByStatus.Stopped ?? 0) + 1);
});

test('list: newest first by default, nameContains and statusEquals filters, maxResults pages joined by nextToken', async () => {
  const prefix = `page${Math.random().toString(36).slice(2, 8)}`;
  const arns: string[] = [];
  for (let i = 0; i < 5; i++) {
    clock += 1000;
    arns.push((await client.send(new CreateModelInvocationJobCommand(jobInput({ jobName: `${prefix}-${i}` })))).jobArn!);
  }
  const seen: string[] = [];
  let nextToken: string | undefined;
  let pages = 0;
  do {
    const page = await client.send(new ListModelInvocationJobsCommand({ nameContains: prefix, maxResults: 2, nextToken }));
    seen.push(...page.invocationJobSummaries!.map((s) => s.jobArn!));
    nextToken = page.nextToken;
    pages++;
  } while (nextToken);
  expect([pages, seen]).toEqual([3, [...arns].reverse()]);
  const ascending = await client.send(new ListModelInvocationJobsCommand({ nameContains: prefix, sortOrder: 'Ascending', sortBy: 'CreationTime' }));
  expect(ascending.invocationJobSummaries!.map((s) => s.jobArn)).toEqual(arns);
  // Submitted after a time between the third and the fourth: the last two.
  const after = await client.send(new ListModelInvocationJobsCommand({ nameContains: prefix, submitTimeAfter: new Date(clock - 1500) }));
  expect(after.invocationJobSummaries!.map((s) => s.jobArn)).toEqual([arns[4], arns[3]]);
  clock += VALIDATION_MS; // the S3 here is unreachable: every one has failed
  const failed = await client.send(new ListModelInvocationJobsCommand({ nameContains: prefix, statusEquals: 'Failed' }));
  expect(failed.invocationJobSummaries).toHaveLength(5);
  expect(failed.invocationJobSummaries![0]).toMatchObject({ jobName: `${prefix}-4`, status: 'Failed', submitTime: expect.any(Date), message: expect.stringContaining('Unable to read the input data') });
  expect((await client.send(new ListModelInvocationJobsCommand({ nameContains: prefix, statusEquals: 'InProgress' }))).invocationJobSummaries).toEqual([]);
});
