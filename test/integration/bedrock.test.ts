/**
 * Bedrock end to end: the adapter (src/providers/bedrock: `@aws-sdk/client-bedrock` and `@aws-sdk/client-s3`) against
 * the sandbox's bedrock module at `/bedrock`, with the job's records in the run's S3 server (versitygw), on the run's
 * Temporal server: the standard cases of test/support/provider-suite.ts through the public API and the CLI (at ten
 * times their size: Bedrock takes no job under 100 records), and what is Bedrock's own: Claude as InvokeModel, a
 * batch under the minimum refused before anything starts, an output folder the worker was not allowed, the records
 * and outputs where Bedrock puts them.
 */
import { randomUUID } from 'node:crypto';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { createBatch } from '../../src';
import { writeChatInput } from '../support/env';
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

const suite = providerSuite('bedrock', {
  lostCreates: true,
  model: NOVA,
  validationFailure: { status: 'failed' },
  refusedWindow: '336h',
  options: { roleArn: ROLE, outputS3Uri: `s3://${s3config.bucket}/${root}` },
  scale: 10,
  cliSplit: { requests: 300, perPart: 100 },
  happyPath: {
    async check({ done }) {
      // The job's records and its outputs are in the batch's own folder, where Bedrock puts them.
      const s3 = new S3Client({ endpoint: s3config.endpoint, region: s3config.region, credentials: s3config.credentials, forcePathStyle: true });
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: s3config.bucket, Prefix: `${root}${done.id}/0/` }));
      const keys = (listed.Contents ?? []).map((o) => o.Key!.slice(`${root}${done.id}/0/`.length).replace(/^[0-9a-f]+\//, ''));
      const jobId = done.anybatch.provider_batches[0].id.split('/').pop()!;
      expect(keys.sort()).toEqual(['input/records.jsonl', `output/${jobId}/manifest.json.out`, `output/${jobId}/records.jsonl.out`]);
      s3.destroy();
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
