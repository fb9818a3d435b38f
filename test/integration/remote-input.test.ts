/**
 * A batch staged in an S3 store (ANYBATCH_STORAGE, the versitygw of the global setup), run by a worker whose data
 * folder holds no copy of it: each part is streamed from the store into the provider's upload, and the adapters that
 * read the part again when its results come back (Bedrock and Vertex AI map results to custom_ids by line) stream it
 * from the store too. Before, the worker downloaded each part to its scratch cache for the upload and removed it
 * after, so a Bedrock or Vertex AI batch in S3 failed at its results: the part was no longer there to read.
 */
import crypto from 'node:crypto';
import { createBatch } from '../../src';
import type { AnybatchBatch } from '../../src';
import { closeClientStores } from '../../src/config';
import { resultLinesOf } from '../../src/batches/results';
import type { ResultLine } from '../../src/providers/types';
import { untilTerminalBatch } from '../support/batches';
import { startTestEnv, writeChatInput } from '../support/env';
import type { TestEnv } from '../support/env';
import { testS3Config, testS3Env } from '../support/s3';

const PREFIX = `remote-input-${crypto.randomBytes(4).toString('hex')}`;
const savedEnv = { ...process.env };
let env: TestEnv;

beforeAll(async () => {
  const s3 = testS3Config();
  // The batch's store and, for Bedrock's records, the same S3 server; Vertex AI's lines go to the sandbox's Cloud Storage.
  Object.assign(process.env, testS3Env(PREFIX), {
    ANYBATCH_BEDROCK_S3_URIS: `s3://${s3.bucket}/${PREFIX}-bedrock/`,
    ANYBATCH_VERTEX_GCS_URIS: `gs://anybatch-sandbox/${PREFIX}/`,
  });
  env = await startTestEnv();
  process.env.STORAGE_EMULATOR_HOST = env.sandbox.baseUrls.gcs;
});

afterAll(async () => {
  await env?.teardown();
  closeClientStores();
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv);
});

/** Every custom_id once across the results in the store, and the counts to match: the output lines and the error lines. */
async function accountFor(batch: AnybatchBatch, n: number, prefix: string): Promise<{ output: ResultLine[]; errors: ResultLine[] }> {
  const lines: ResultLine[] = [];
  for await (const line of resultLinesOf(batch)) lines.push(line);
  expect(lines.map((l) => l.custom_id).sort()).toEqual(Array.from({ length: n }, (_, i) => `${prefix}-${i}`).sort());
  const output = lines.filter((l) => l.error === null && l.response?.status_code === 200);
  const errors = lines.filter((l) => !output.includes(l));
  expect(batch.request_counts).toEqual({ total: n, completed: output.length, failed: errors.length });
  return { output, errors };
}

async function run(provider: 'openai' | 'bedrock' | 'vertexai', n: number, model: string, options: Record<string, unknown>): Promise<AnybatchBatch> {
  const file = writeChatInput(env.home, n, { prefix: provider, model });
  const created = await createBatch(provider, file, '/v1/chat/completions', {
    ...env.options,
    apiBase: env.sandbox.baseUrls[provider],
    apiKey: `${provider}-test-key`,
    pollInterval: '200ms',
    maxRequestsPerPart: Math.ceil(n / 2), // two parts, each a byte range of the staged object
    ...options,
  } as never);
  const done = await untilTerminalBatch(provider, created.id, env.options);
  expect(done.anybatch.results?.output_uri).toMatch(/^s3:\/\//); // the batch is in the S3 store
  return done;
}

test('openai: parts are byte ranges of the staged object, streamed from S3 into the upload; every request answered', async () => {
  const done = await run('openai', 40, 'gpt-4o-mini', {});
  expect(done.status).toBe('completed');
  expect(done.anybatch.provider_batches).toHaveLength(2);
  const { output, errors } = await accountFor(done, 40, 'openai');
  expect(errors).toEqual([]);
  expect(output).toHaveLength(40);
});

test('bedrock: results are mapped to custom_ids by reading the part from the store (no local copy needed)', async () => {
  const s3 = testS3Config();
  const done = await run('bedrock', 240, 'amazon.nova-lite-v1:0', { roleArn: 'arn:aws:iam::123456789012:role/BedrockBatch', outputS3Uri: `s3://${s3.bucket}/${PREFIX}-bedrock/` });
  expect(done.status).toBe('completed');
  const { output, errors } = await accountFor(done, 240, 'bedrock');
  expect(errors).toEqual([]);
  expect(output.find((l) => l.custom_id === 'bedrock-7')!.response!.body).toMatchObject({ choices: [{ message: { content: 'Sandbox reply to: Question number 7: what is 7 + 7?' } }] });
});

test('vertexai: results are mapped to custom_ids by reading the part from the store (no local copy needed)', async () => {
  const done = await run('vertexai', 20, 'gemini-2.5-flash', { project: 'anybatch-test', location: 'us-central1', outputUriPrefix: `gs://anybatch-sandbox/${PREFIX}/` });
  expect(done.status).toBe('completed');
  const { output, errors } = await accountFor(done, 20, 'vertexai');
  expect(errors).toEqual([]);
  expect(output.find((l) => l.custom_id === 'vertexai-3')!.response!.body).toMatchObject({ choices: [{ message: { content: 'Sandbox reply to: Question number 3: what is 3 + 3?' } }] });
});
