/**
 * Bedrock end to end: the adapter (src/providers/bedrock: `@aws-sdk/client-bedrock` and `@aws-sdk/client-s3`) against
 * the sandbox's bedrock module at `/bedrock`, with the job's records in the run's S3 server (versitygw), on the run's
 * Temporal server: the standard cases of test/support/provider-suite.ts through the public API and the CLI (at ten
 * times their size: Bedrock takes no job under 100 records), and what is Bedrock's own: Claude as InvokeModel, a
 * batch under the minimum refused before anything starts, an output folder the worker was not allowed, the records
 * and outputs where Bedrock puts them, and the job's manifest.json.out: its tokens as the batch's usage, and a
 * manifest that disagrees, is malformed or is missing changing no result line.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createBatch } from '../../src';
import type { Batch, ResultLine } from '../../src/contract/batch';
import { getAdapter } from '../../src/providers/registry';
import type { ProviderConnection, ProviderInput } from '../../src/providers/types';
import { eventually, writeChatInput } from '../support/env';
import { providerSuite } from '../support/provider-suite';
import { testS3Config } from '../support/s3';

const NOVA = 'amazon.nova-lite-v1:0';
const CLAUDE = 'anthropic.claude-3-5-haiku-20241022-v1:0';
const ROLE = 'arn:aws:iam::123456789012:role/BedrockBatch';
const s3config = testS3Config();
// The worker (in this process) writes the records with the AWS credentials of its environment, under a folder its
// operator allowed; the sandbox's module reads them with the same variables.
const root = `bedrock-e2e/${randomUUID()}/`;
Object.assign(process.env, {
  AWS_ENDPOINT_URL_S3: s3config.endpoint,
  AWS_ACCESS_KEY_ID: s3config.credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: s3config.credentials.secretAccessKey,
  AWS_REGION: s3config.region,
  ANYBATCH_BEDROCK_S3_URIS: `s3://${s3config.bucket}/${root}`,
});

const options = { roleArn: ROLE, outputS3Uri: `s3://${s3config.bucket}/${root}` };
const testS3 = () => new S3Client({ endpoint: s3config.endpoint, region: s3config.region, credentials: s3config.credentials, forcePathStyle: true });
const tokensOf = (lines: ResultLine[], field: 'prompt_tokens' | 'completion_tokens') =>
  lines.reduce((sum, l) => sum + ((l.response?.body as { usage?: Record<string, number> } | undefined)?.usage?.[field] ?? 0), 0);

const suite = providerSuite('bedrock', {
  lostCreates: true,
  model: NOVA,
  validationFailure: { status: 'failed' },
  refusedWindow: '336h',
  options,
  scale: 10,
  cliSplit: { requests: 300, perPart: 100 },
  happyPath: {
    async check({ done }) {
      // The job's records and its outputs are in the batch's own folder, where Bedrock puts them.
      const s3 = testS3();
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: s3config.bucket, Prefix: `${root}${done.id}/0/` }));
      const keys = (listed.Contents ?? []).map((o) => o.Key!.slice(`${root}${done.id}/0/`.length).replace(/^[0-9a-f]+\//, ''));
      const jobId = done.anybatch.provider_batches[0].id.split('/').pop()!;
      expect(keys.sort()).toEqual(['input/records.jsonl', `output/${jobId}/manifest.json.out`, `output/${jobId}/records.jsonl.out`]);
      s3.destroy();
      // The manifest was read: its tokens are the batch's usage, the same the result lines report one by one.
      const { output } = suite.accountFor(done, 200);
      expect(done.usage).toEqual({ input_tokens: tokensOf(output, 'prompt_tokens'), input_tokens_details: { cached_tokens: 0 }, output_tokens: tokensOf(output, 'completion_tokens'), output_tokens_details: { reasoning_tokens: 0 }, total_tokens: tokensOf(output, 'prompt_tokens') + tokensOf(output, 'completion_tokens') });
      expect(done.usage!.input_tokens).toBeGreaterThan(0);
    },
  },
});

describe("bedrock's own", () => {
  test('a Claude model runs as InvokeModel: the Messages body in, Anthropic messages out, as chat completions', async () => {
    const file = writeChatInput(suite.env().home, 120, { prefix: 'claude', model: CLAUDE });
    const done = await suite.untilTerminal((await createBatch('bedrock', file, '/v1/chat/completions', suite.opts())).id);
    expect(done.status).toBe('completed');
    const { output, errors } = suite.accountFor(done, 120, 'claude');
    expect(errors).toEqual([]);
    expect(output.find((l) => l.custom_id === 'claude-7')!.response!.body).toMatchObject({
      object: 'chat.completion',
      choices: [{ message: { content: 'Sandbox reply to: Question number 7: what is 7 + 7?' }, finish_reason: 'stop' }],
    });
  });

  test('a batch under Bedrock\'s minimum of 100 records is refused before anything starts', async () => {
    const before = suite.created();
    const err = await createBatch('bedrock', suite.input(40, 'few'), '/v1/chat/completions', suite.opts()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'invalid_input' });
    expect((err as Error).message).toContain('40 requests, fewer than the 100 bedrock takes in one batch');
    expect(suite.created()).toBe(before);
  });

  test('tools cannot go to a Converse job: refused on its line, naming the way out', async () => {
    const file = writeChatInput(suite.env().home, 100, { prefix: 'tools', model: NOVA });
    const fs = await import('node:fs');
    fs.appendFileSync(file, JSON.stringify({ custom_id: 'with-tools', method: 'POST', url: '/v1/chat/completions', body: { model: NOVA, messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'function', function: { name: 'f' } }] } }) + '\n');
    const err = await createBatch('bedrock', file, '/v1/chat/completions', suite.opts()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'invalid_input' });
    expect((err as Error).message).toMatch(/line 101.*body\.tools.*Anthropic model/s);
  });

  test('an output folder the worker was not allowed fails the batch before anything is written there', async () => {
    const before = suite.created();
    const err = await createBatch('bedrock', suite.input(100, 'elsewhere'), '/v1/chat/completions', suite.opts({ outputS3Uri: `s3://${s3config.bucket}/not-allowed/` })).catch((e: unknown) => e);
    expect((err as Error).message).toContain(`s3://${s3config.bucket}/not-allowed/ is not under an entry of ANYBATCH_BEDROCK_S3_URIS`);
    expect(suite.created()).toBe(before);
  });
});

test('awkward custom_ids (long, spaces, slashes, non-ASCII) come back exactly: Bedrock only ever sees record ids', async () => {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const ids = Array.from({ length: 100 }, (_, i) => [`${'a'.repeat(300)}${i}`, `with spaces / and slashes ${i}`, `émoji 🚀 ${i}`, `"quoted" ${i}`][i % 4]);
  const file = path.join(suite.env().home, 'awkward-bedrock.jsonl');
  fs.writeFileSync(file, ids.map((id, i) => JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: NOVA, messages: [{ role: 'user', content: `Question number ${i}` }] } })).join('\n') + '\n');
  const done = await suite.untilTerminal((await createBatch('bedrock', file, '/v1/chat/completions', suite.opts())).id);
  expect(done.status).toBe('completed');
  const output = fs.readFileSync(path.join(done.anybatch.results_dir, 'output.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { custom_id: string; response: { body: { choices: Array<{ message: { content: string } }> } } });
  expect(output.map((l) => l.custom_id).sort()).toEqual([...ids].sort());
  for (const [i, id] of ids.entries()) expect(output.find((l) => l.custom_id === id)!.response.body.choices[0].message.content).toBe(`Sandbox reply to: Question number ${i}`);
});

describe("the job's manifest.json.out, read by the adapter (without Temporal)", () => {
  const adapter = getAdapter('bedrock');
  const warnings: string[] = [];
  const conn = (): ProviderConnection => ({ apiKey: 'bedrock-test-key', apiBase: suite.env().sandbox.baseUrls.bedrock, options, log: { warn: (message) => warnings.push(message) } });
  const s3 = testS3();
  let input: ProviderInput;
  let done: Batch;
  let manifestKey: string;
  let written: Record<string, number>;
  let failed: number;

  const read = async () => {
    const lines: ResultLine[] = [];
    for await (const line of adapter.readResults(conn(), done, input)) lines.push(line);
    return lines;
  };
  const putManifest = (body: string) => s3.send(new PutObjectCommand({ Bucket: s3config.bucket, Key: manifestKey, Body: body }));
  /** Every request has its line, and the requests the job failed are still the error lines (status 500). */
  const expectEveryLine = (lines: ResultLine[]) => {
    expect(lines.map((l) => l.custom_id).sort()).toEqual(Array.from({ length: 100 }, (_, i) => `manifest-${i}`).sort());
    expect(lines.filter((l) => l.response?.status_code === 500)).toHaveLength(failed);
  };

  beforeAll(async () => {
    const env = suite.env();
    // Some records end as Bedrock error lines, so the counts have two sides.
    env.sandbox.setFaults({ requestFaultRate: 0.1, seed: 1178 });
    const file = suite.input(100, 'manifest');
    const workDir = path.join(env.home, `manifest-work-${randomUUID()}`);
    input = { path: file, requestCount: 100, bytes: fs.statSync(file).size, idempotencyKey: `ab_manifest${randomUUID().slice(0, 8)}/0`, notBefore: Math.floor(Date.now() / 1000) - 5, endpoint: '/v1/chat/completions', options, workDir };
    const prepared = await adapter.prepareInput(conn(), input);
    const created = await adapter.createBatch(conn(), { input, prepared, endpoint: '/v1/chat/completions', completionWindow: '24h', metadata: null });
    env.sandbox.setFaults({});
    done = await eventually(async () => {
      const b = await adapter.retrieveBatch(conn(), created.id);
      return b.status === 'completed' ? b : null;
    }, 60_000, 100);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: s3config.bucket, Prefix: `${root}${input.idempotencyKey}/` }));
    manifestKey = (listed.Contents ?? []).map((o) => o.Key!).find((k) => k.endsWith('/manifest.json.out'))!;
    written = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: s3config.bucket, Key: manifestKey }))).Body!.transformToString()) as Record<string, number>;
    failed = written.errorRecordCount;
  });
  afterAll(() => s3.destroy());
  beforeEach(() => {
    warnings.length = 0;
  });

  test("as Bedrock wrote it: the batch's usage is its tokens, the counts agree, nothing is logged", async () => {
    expect(failed).toBeGreaterThan(0);
    expect(done.request_counts).toEqual({ total: 100, completed: 100 - failed, failed });
    expect(done.usage).toEqual({ input_tokens: written.inputTokenCount, input_tokens_details: { cached_tokens: 0 }, output_tokens: written.outputTokenCount, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: written.inputTokenCount + written.outputTokenCount });
    const lines = await read();
    expectEveryLine(lines);
    expect(tokensOf(lines, 'prompt_tokens')).toBe(written.inputTokenCount);
    expect(warnings).toEqual([]);
  });

  test('counts that disagree with the output lines: every line still comes back as it is, and the disagreement is logged', async () => {
    await putManifest(JSON.stringify({ ...written, successRecordCount: 100, errorRecordCount: 0 }));
    expectEveryLine(await read());
    expect(warnings).toEqual([expect.stringContaining(`manifest.json.out disagrees with the output files (successRecordCount 100, output lines with a model output ${100 - failed}; errorRecordCount 0, error lines ${failed})`)]);
  });

  test("a malformed manifest: the batch is the job's own (no usage), every line comes back, and the problem is named", async () => {
    await putManifest('{"totalRecordCount": 100, "successRecordCount": "all"}');
    const again = await adapter.retrieveBatch(conn(), done.id);
    expect(again).toMatchObject({ status: 'completed', request_counts: { total: 100, completed: 100 - failed, failed } });
    expect(again.usage).toBeUndefined();
    expectEveryLine(await read());
    expect(warnings).toEqual([
      expect.stringMatching(/manifest\.json\.out is not a manifest: successRecordCount is not a count \(got "all"\); its counts are the job's own\.$/),
      expect.stringMatching(/manifest\.json\.out is not a manifest: successRecordCount is not a count \(got "all"\); the results follow the output lines\.$/),
    ]);
  });

  test("a missing manifest: the batch is the job's own, named once; every line comes back", async () => {
    await s3.send(new DeleteObjectCommand({ Bucket: s3config.bucket, Key: manifestKey }));
    const again = await adapter.retrieveBatch(conn(), done.id);
    expect(again).toMatchObject({ status: 'completed', request_counts: { total: 100, completed: 100 - failed, failed } });
    expect(again.usage).toBeUndefined();
    expectEveryLine(await read());
    expect(warnings).toEqual([`Bedrock job ${done.id}: no manifest.json.out beside its output; its counts are the job's own.`]);
  });
});
