/**
 * The sandbox's bedrock module against a real S3 (the run's versitygw, test/support/s3.ts), driven unchanged by the
 * official clients: `@aws-sdk/client-bedrock` with its endpoint at `<url>/bedrock` and `@aws-sdk/client-s3` for the
 * input and output objects, then boto3 (pinned, test/support/python.ts) through the standard AWS variables
 * (`AWS_ENDPOINT_URL_BEDROCK` with the `/bedrock` path, which botocore keeps, and `AWS_ENDPOINT_URL_S3`). Covered:
 * an Anthropic InvokeModel job of 150 records (outputs joined on recordId, the manifest), a Converse job on Nova, an
 * input prefix, idempotent creates, a stop with partial results, the timeout (Expired, PartiallyCompleted), too few
 * records, an input that does not exist, list filters and paging, an unknown job and a 429 as the SDK's typed
 * exceptions. The sandbox's clock is the test's, so every state is reached without waiting (the boto3 run lets it tick).
 */
import { randomUUID } from 'node:crypto';
import {
  BedrockClient,
  CreateModelInvocationJobCommand,
  GetModelInvocationJobCommand,
  ListModelInvocationJobsCommand,
  ResourceNotFoundException,
  StopModelInvocationJobCommand,
  ThrottlingException,
  type CreateModelInvocationJobCommandInput,
  type GetModelInvocationJobCommandOutput,
} from '@aws-sdk/client-bedrock';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { lastJson, runPython } from '../support/python';
import { testS3Config } from '../support/s3';

// The SDK pins a version whose warning is about later versions needing Node 22 (as src/storage/s3.ts says).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const CLAUDE = 'us.anthropic.claude-3-5-haiku-20241022-v1:0';
const NOVA = 'amazon.nova-lite-v1:0';
const ROLE = 'arn:aws:iam::123456789012:role/BedrockBatch';
const VALIDATION_MS = 300;
const CANCELLING_MS = 300;
const RATE = 100; // records a second

interface OutputLine {
  recordId: string;
  modelInput: Record<string, unknown>;
  modelOutput?: Record<string, unknown>;
  error?: { errorCode: number; errorMessage: string };
}

let sandbox: Sandbox;
let bedrock: BedrockClient;
let s3: S3Client;
let bucket: string;
/** This run's folder in the shared bucket. */
const root = `sandbox-bedrock/${randomUUID()}/`;
let clock = Date.parse('2026-12-01T12:00:00Z');

beforeAll(async () => {
  const config = testS3Config();
  bucket = config.bucket;
  sandbox = await startSandbox({
    rate: RATE,
    validationMs: VALIDATION_MS,
    cancellingMs: CANCELLING_MS,
    now: () => clock,
    s3: { endpoint: config.endpoint, region: config.region, credentials: config.credentials },
  });
  bedrock = new BedrockClient({ region: 'us-west-2', endpoint: `${sandbox.url}/bedrock`, credentials: { accessKeyId: 'AKIDSANDBOX', secretAccessKey: 'secret' }, maxAttempts: 1 });
  s3 = new S3Client({
    endpoint: config.endpoint,
    region: config.region,
    credentials: config.credentials,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
});
afterAll(async () => {
  bedrock?.destroy();
  s3?.destroy();
  await sandbox?.close();
});
afterEach(() => sandbox.setFaults({}));

const uri = (key: string): string => `s3://${bucket}/${root}${key}`;

function claudeRecord(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { recordId: id, modelInput: { anthropic_version: 'bedrock-2023-05-31', max_tokens: 100, messages: [{ role: 'user', content: `Say hello to ${id}` }], ...extra } };
}

function novaRecord(id: string): Record<string, unknown> {
  return { recordId: id, modelInput: { system: [{ text: 'Be brief' }], messages: [{ role: 'user', content: [{ text: `Say hello to ${id}` }] }], inferenceConfig: { maxTokens: 200 } } };
}

const ids = (n: number, prefix: string): string[] => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(11 - prefix.length, '0')}`);

async function putRecords(key: string, records: Array<Record<string, unknown>>): Promise<string> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${root}${key}`, Body: records.map((r) => JSON.stringify(r)).join('\n') + '\n' }));
  return uri(key);
}

async function readText(key: string): Promise<string> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return object.Body!.transformToString();
}

async function readLines(key: string): Promise<OutputLine[]> {
  return (await readText(key))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as OutputLine);
}

async function keysUnder(prefix: string): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((o) => o.Key!).sort();
}

/** Creates a job reading `inputUri`, writing under `outKey` (by default a folder of its own). */
async function create(change: Partial<CreateModelInvocationJobCommandInput> & { inputUri: string; outKey?: string }): Promise<{ arn: string; id: string; out: string }> {
  const { inputUri, outKey = `out-${randomUUID().slice(0, 8)}/`, ...rest } = change;
  const created = await bedrock.send(
    new CreateModelInvocationJobCommand({
      jobName: `sbx-${randomUUID().slice(0, 8)}`,
      roleArn: ROLE,
      modelId: CLAUDE,
      inputDataConfig: { s3InputDataConfig: { s3Uri: inputUri } },
      outputDataConfig: { s3OutputDataConfig: { s3Uri: uri(outKey) } },
      ...rest,
    }),
  );
  const arn = created.jobArn!;
  const id = arn.split('/').pop()!;
  return { arn, id, out: `${root}${outKey}${id}/` };
}

const get = (arn: string): Promise<GetModelInvocationJobCommandOutput> => bedrock.send(new GetModelInvocationJobCommand({ jobIdentifier: arn }));

test('an Anthropic InvokeModel job of 150 records: Completed, one output per input joined on recordId, and the manifest', async () => {
  const recordIds = ids(150, 'CALL');
  const records = recordIds.map((id, i) => claudeRecord(id, i === 10 ? { sandbox_error: 429 } : i === 20 ? { max_tokens: undefined } : {}));
  const job = await create({ inputUri: await putRecords('happy/records.jsonl', records), clientRequestToken: randomUUID(), tags: [{ key: 'anybatch', value: 'ab_1' }] });
  expect(job.arn).toMatch(/^arn:aws:bedrock:us-west-2:123456789012:model-invocation-job\/[a-z0-9]{12}$/);
  expect((await get(job.arn)).status).toBe('Submitted');
  clock += VALIDATION_MS + 500; // 50 answered, records 10 and 20 among them
  expect(await get(job.arn)).toMatchObject({ status: 'InProgress', totalRecordCount: 150, processedRecordCount: 50, successRecordCount: 48, errorRecordCount: 2 });
  clock += 1000;
  const done = await get(job.arn);
  expect(done).toMatchObject({ status: 'Completed', totalRecordCount: 150, processedRecordCount: 150, successRecordCount: 148, errorRecordCount: 2 });
  expect(done.endTime).toEqual(new Date(done.submitTime!.getTime() + VALIDATION_MS + 1500));

  expect(await keysUnder(job.out)).toEqual([`${job.out}manifest.json.out`, `${job.out}records.jsonl.out`]);
  const lines = await readLines(`${job.out}records.jsonl.out`);
  expect(lines.map((l) => l.recordId)).not.toEqual(recordIds); // no guaranteed order: join on recordId
  const byId = new Map(lines.map((l) => [l.recordId, l]));
  expect([...byId.keys()].sort()).toEqual(recordIds);
  const first = byId.get(recordIds[0])!;
  expect(first.modelInput).toEqual(records[0].modelInput);
  expect(first.modelOutput).toMatchObject({
    id: expect.stringMatching(/^msg_bdrk_/),
    type: 'message',
    role: 'assistant',
    model: 'claude-3-5-haiku-20241022',
    content: [{ type: 'text', text: `Sandbox reply to: Say hello to ${recordIds[0]}` }],
    stop_reason: 'end_turn',
    usage: { input_tokens: expect.any(Number), output_tokens: expect.any(Number) },
  });
  expect(byId.get(recordIds[10])!.error).toEqual({ errorCode: 429, errorMessage: expect.stringContaining('sandbox_error=429') });
  expect(byId.get(recordIds[20])!.error).toEqual({ errorCode: 400, errorMessage: expect.stringContaining('required key [max_tokens] not found') });
  expect(byId.get(recordIds[20])!.modelOutput).toBeUndefined();

  const manifest = JSON.parse(await readText(`${job.out}manifest.json.out`)) as Record<string, number>;
  const outputTokens = lines.reduce((sum, l) => sum + ((l.modelOutput?.usage as { output_tokens?: number } | undefined)?.output_tokens ?? 0), 0);
  expect(manifest).toEqual({ totalRecordCount: 150, processedRecordCount: 150, successRecordCount: 148, errorRecordCount: 2, inputTokenCount: expect.any(Number), outputTokenCount: outputTokens });
  expect(sandbox.stats().providers.bedrock.batchesByStatus.Completed).toBeGreaterThanOrEqual(1);
});

test('a Converse job on Nova, its input a prefix of two files: the Converse response, an output per file; tools refused record by record', async () => {
  const a = ids(60, 'NA').map(novaRecord);
  const b = ids(60, 'NB').map(novaRecord);
  b[5] = { ...b[5], modelInput: { ...b[5].modelInput as Record<string, unknown>, toolConfig: { tools: [{ toolSpec: { name: 'lookup', inputSchema: { json: { type: 'object' } } } }] } } };
  await putRecords('converse/part-a.jsonl', a);
  await putRecords('converse/part-b.jsonl', b);
  const job = await create({ inputUri: uri('converse/'), modelId: NOVA, modelInvocationType: 'Converse' });
  clock += VALIDATION_MS + 2000;
  expect(await get(job.arn)).toMatchObject({ status: 'Completed', modelInvocationType: 'Converse', totalRecordCount: 120, successRecordCount: 119, errorRecordCount: 1 });
  expect(await keysUnder(job.out)).toEqual([`${job.out}manifest.json.out`, `${job.out}part-a.jsonl.out`, `${job.out}part-b.jsonl.out`]);
  const lineA = (await readLines(`${job.out}part-a.jsonl.out`)).find((l) => l.recordId === 'NA000000003')!;
  expect(lineA.modelOutput).toEqual({
    output: { message: { role: 'assistant', content: [{ text: 'Sandbox reply to: Say hello to NA000000003 [system: Be brief]' }] } },
    stopReason: 'end_turn',
    usage: { inputTokens: expect.any(Number), outputTokens: expect.any(Number), totalTokens: expect.any(Number) },
    metrics: { latencyMs: expect.any(Number) },
  });
  const tools = (await readLines(`${job.out}part-b.jsonl.out`)).find((l) => l.recordId === 'NB000000005')!;
  expect(tools.error).toEqual({ errorCode: 400, errorMessage: expect.stringContaining('toolConfig') });
});

test('the same clientRequestToken twice makes one job', async () => {
  const inputUri = await putRecords('idem/records.jsonl', ids(100, 'ID').map((id) => claudeRecord(id)));
  const before = sandbox.stats().providers.bedrock.batchesCreated;
  const token = randomUUID();
  const first = await create({ inputUri, outKey: 'idem/out/', clientRequestToken: token, jobName: 'idem-job' });
  const again = await create({ inputUri, outKey: 'idem/out/', clientRequestToken: token, jobName: 'idem-job' });
  expect(again.arn).toBe(first.arn);
  expect(sandbox.stats().providers.bedrock.batchesCreated).toBe(before + 1);
});

test('a stop: Stopping, then Stopped, with the records answered before it written', async () => {
  const job = await create({ inputUri: await putRecords('stop/records.jsonl', ids(300, 'ST').map((id) => claudeRecord(id))) });
  clock += VALIDATION_MS + 1000; // 100 answered
  expect((await get(job.arn)).processedRecordCount).toBe(100);
  await bedrock.send(new StopModelInvocationJobCommand({ jobIdentifier: job.arn }));
  clock += 100;
  expect(await get(job.arn)).toMatchObject({ status: 'Stopping', processedRecordCount: 100 });
  clock += CANCELLING_MS;
  expect(await get(job.arn)).toMatchObject({ status: 'Stopped', totalRecordCount: 300, processedRecordCount: 100, successRecordCount: 100 });
  expect(await readLines(`${job.out}records.jsonl.out`)).toHaveLength(100);
  expect(JSON.parse(await readText(`${job.out}manifest.json.out`))).toMatchObject({ totalRecordCount: 300, processedRecordCount: 100, successRecordCount: 100, errorRecordCount: 0 });
});

test('the timeout: Expired before the job began, with nothing written; PartiallyCompleted once it had, its answered records written', async () => {
  const inputUri = await putRecords('expiry/records.jsonl', ids(400, 'EX').map((id) => claudeRecord(id)));
  sandbox.setFaults({ expireAfterSeconds: 0.2 });
  const early = await create({ inputUri });
  sandbox.setFaults({ expireAfterSeconds: 2 });
  const late = await create({ inputUri });
  clock += 5000;
  const expired = await get(early.arn);
  expect(expired).toMatchObject({ status: 'Expired', processedRecordCount: 0 });
  expect(expired.jobExpirationTime).toEqual(new Date(expired.submitTime!.getTime() + 200));
  expect(await keysUnder(early.out)).toEqual([]);
  // 2 s after creation, 1.7 s into the run: 170 of 400.
  expect(await get(late.arn)).toMatchObject({ status: 'PartiallyCompleted', totalRecordCount: 400, processedRecordCount: 170 });
  expect(await readLines(`${late.out}records.jsonl.out`)).toHaveLength(170);
});

test('fewer records than the minimum: Failed at validation, the message stating the minimum (100)', async () => {
  const job = await create({ inputUri: await putRecords('few/records.jsonl', ids(99, 'FW').map((id) => claudeRecord(id))) });
  clock += VALIDATION_MS;
  const failed = await get(job.arn);
  expect(failed.status).toBe('Failed');
  expect(failed.message).toContain('has 99 records, fewer than the minimum number of records per batch inference job (100)');
  expect(await keysUnder(job.out)).toEqual([]);
});

test('an input that does not exist: Failed, the message naming its s3 URI', async () => {
  const missing = uri('nowhere/records.jsonl');
  const job = await create({ inputUri: missing });
  clock += VALIDATION_MS;
  const failed = await get(job.arn);
  expect(failed.status).toBe('Failed');
  expect(failed.message).toContain(`Unable to read the input data at ${missing}`);
  expect(failed.message).toContain('NoSuchKey');
});

test('list: nameContains, statusEquals, and maxResults pages joined by nextToken', async () => {
  const inputUri = await putRecords('list/records.jsonl', ids(100, 'LS').map((id) => claudeRecord(id)));
  const tag = `lst${randomUUID().slice(0, 6)}`;
  const arns: string[] = [];
  for (let i = 0; i < 5; i++) {
    clock += 10;
    arns.push((await create({ inputUri, jobName: `${tag}-${i}` })).arn);
  }
  await bedrock.send(new StopModelInvocationJobCommand({ jobIdentifier: arns[1] }));
  clock += VALIDATION_MS + CANCELLING_MS;
  const seen: string[] = [];
  let nextToken: string | undefined;
  let pages = 0;
  do {
    const page = await bedrock.send(new ListModelInvocationJobsCommand({ nameContains: tag, maxResults: 2, nextToken }));
    seen.push(...page.invocationJobSummaries!.map((s) => s.jobArn!));
    nextToken = page.nextToken;
    pages++;
  } while (nextToken);
  expect([pages, seen]).toEqual([3, [...arns].reverse()]);
  const stopped = await bedrock.send(new ListModelInvocationJobsCommand({ nameContains: tag, statusEquals: 'Stopped' }));
  expect(stopped.invocationJobSummaries!.map((s) => [s.jobArn, s.status])).toEqual([[arns[1], 'Stopped']]);
  const running = await bedrock.send(new ListModelInvocationJobsCommand({ nameContains: tag, statusEquals: 'InProgress' }));
  expect(running.invocationJobSummaries).toHaveLength(4);
});

test('an unknown job is a ResourceNotFoundException; an injected 429 a ThrottlingException', async () => {
  await expect(get('arn:aws:bedrock:us-west-2:123456789012:model-invocation-job/000000000000')).rejects.toBeInstanceOf(ResourceNotFoundException);
  sandbox.setFaults({ rate429: 1 });
  await expect(bedrock.send(new ListModelInvocationJobsCommand({}))).rejects.toBeInstanceOf(ThrottlingException);
});

test('boto3, through AWS_ENDPOINT_URL_BEDROCK and AWS_ENDPOINT_URL_S3: put the input, create, poll until Completed, read the output and the manifest', async () => {
  const config = testS3Config();
  const script = `
import json, os, time
import boto3
from botocore.config import Config
bucket, root = os.environ["BUCKET"], os.environ["ROOT"]
s3 = boto3.client("s3", config=Config(s3={"addressing_style": "path"}))
records = [{"recordId": "PY%09d" % i, "modelInput": {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64,
            "messages": [{"role": "user", "content": "Say hello to py-%d" % i}]}} for i in range(100)]
s3.put_object(Bucket=bucket, Key=root + "python/in/records.jsonl", Body=("\\n".join(json.dumps(r) for r in records) + "\\n").encode())
bedrock = boto3.client("bedrock")
created = bedrock.create_model_invocation_job(
    jobName="boto3-job", roleArn="${ROLE}", modelId="${CLAUDE}",
    inputDataConfig={"s3InputDataConfig": {"s3Uri": "s3://%s/%spython/in/records.jsonl" % (bucket, root)}},
    outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://%s/%spython/out/" % (bucket, root)}})
arn = created["jobArn"]
statuses = []
deadline = time.time() + 60
while True:
    job = bedrock.get_model_invocation_job(jobIdentifier=arn)
    if not statuses or statuses[-1] != job["status"]:
        statuses.append(job["status"])
    if job["status"] in ("Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"):
        break
    if time.time() > deadline:
        raise SystemExit("job still " + job["status"])
    time.sleep(0.05)
job_id = arn.split("/")[-1]
out = s3.get_object(Bucket=bucket, Key="%spython/out/%s/records.jsonl.out" % (root, job_id))["Body"].read().decode()
manifest = json.loads(s3.get_object(Bucket=bucket, Key="%spython/out/%s/manifest.json.out" % (root, job_id))["Body"].read())
print(json.dumps({"arn": arn, "statuses": statuses, "message": job.get("message"), "submitTime": job["submitTime"].isoformat(),
                  "counts": [job["totalRecordCount"], job["processedRecordCount"], job["successRecordCount"], job["errorRecordCount"]],
                  "token": job.get("clientRequestToken"), "output": [json.loads(l) for l in out.splitlines() if l], "manifest": manifest}))
`;
  // Only the test's clock moves the sandbox's: let it tick while boto3 polls in real time.
  const ticker = setInterval(() => (clock += 20), 20);
  let run;
  try {
    run = await runPython(script, {
      modules: ['boto3'],
      env: {
        AWS_ENDPOINT_URL_BEDROCK: `${sandbox.url}/bedrock`,
        AWS_ENDPOINT_URL_S3: config.endpoint,
        AWS_ACCESS_KEY_ID: config.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: config.credentials.secretAccessKey,
        AWS_REGION: config.region,
        // botocore 1.44 reads its region from AWS_DEFAULT_REGION, not AWS_REGION.
        AWS_DEFAULT_REGION: config.region,
        AWS_REQUEST_CHECKSUM_CALCULATION: 'when_required',
        AWS_RESPONSE_CHECKSUM_VALIDATION: 'when_required',
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        AWS_EC2_METADATA_DISABLED: 'true',
        BUCKET: config.bucket,
        ROOT: root,
      },
    });
  } finally {
    clearInterval(ticker);
  }
  const result = lastJson<{
    arn: string;
    statuses: string[];
    message: string | null;
    submitTime: string;
    counts: number[];
    token: string | null;
    output: OutputLine[];
    manifest: Record<string, number>;
  }>(run.stdout);
  expect(result.message).toBeNull();
  expect(result.arn).toMatch(new RegExp(`^arn:aws:bedrock:${config.region}:123456789012:model-invocation-job/[a-z0-9]{12}$`));
  expect(result.statuses[result.statuses.length - 1]).toBe('Completed');
  expect(result.statuses).toContain('InProgress');
  expect(result.counts).toEqual([100, 100, 100, 0]);
  // boto3 fills in the idempotency token itself.
  expect(result.token).toMatch(/^[0-9a-f-]{36}$/);
  expect(Number.isNaN(Date.parse(result.submitTime))).toBe(false);
  expect(result.output.map((l) => l.recordId).sort()).toEqual(Array.from({ length: 100 }, (_, i) => `PY${String(i).padStart(9, '0')}`));
  expect(result.output.find((l) => l.recordId === 'PY000000007')!.modelOutput).toMatchObject({ content: [{ type: 'text', text: 'Sandbox reply to: Say hello to py-7' }] });
  expect(result.manifest).toMatchObject({ totalRecordCount: 100, processedRecordCount: 100, successRecordCount: 100, errorRecordCount: 0 });
});
