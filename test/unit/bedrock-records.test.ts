/** OpenAI chat requests <-> Bedrock batch records (src/providers/bedrock/records.ts) and Bedrock's options. */
import { UsageError } from '../../src/errors';
import { parseBedrockOptions, parseS3Uri } from '../../src/providers/bedrock/options';
import { checkBedrockRequest, invocationType, recordIndex, recordLine, toModelInput, toOpenAIResultLine } from '../../src/providers/bedrock/records';
import { toOpenAIBatch } from '../../src/providers/bedrock/batch-object';

const CLAUDE = 'anthropic.claude-3-5-haiku-20241022-v1:0';
const NOVA = 'amazon.nova-lite-v1:0';
const body = (more: Record<string, unknown> = {}) => ({ model: NOVA, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }], ...more });

test('Anthropic models go as InvokeModel with the Messages body Bedrock takes; others as Converse', () => {
  expect(invocationType(CLAUDE, undefined)).toBe('InvokeModel');
  expect(invocationType(`us.${CLAUDE}`, undefined)).toBe('InvokeModel');
  expect(invocationType(NOVA, undefined)).toBe('Converse');
  expect(invocationType(CLAUDE, 'Converse')).toBe('Converse');
  const invoke = toModelInput(body({ model: CLAUDE, max_tokens: 50 }), CLAUDE, 'InvokeModel');
  expect(invoke).toEqual({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 50, system: 'Be brief.', messages: [{ role: 'user', content: 'Hi' }] });
  expect(invoke).not.toHaveProperty('model');
  const converse = toModelInput(body({ max_completion_tokens: 20, temperature: 0.2, stop: 'END' }), NOVA, 'Converse');
  expect(converse).toEqual({ messages: [{ role: 'user', content: [{ text: 'Hi' }] }], system: [{ text: 'Be brief.' }], inferenceConfig: { maxTokens: 20, temperature: 0.2, stopSequences: ['END'] } });
});

test('what a Converse record cannot carry is refused on its field, with the way out', () => {
  const tools = checkBedrockRequest(body({ tools: [{ type: 'function', function: { name: 'f' } }] }), {});
  expect(tools.problems[0]).toMatchObject({ field: 'body.tools' });
  expect(tools.problems[0].message).toMatch(/Converse type take no tools.*Anthropic model/);
  const image = checkBedrockRequest(body({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x' } }] }] }), {});
  expect(image.problems[0]).toMatchObject({ field: 'body.messages[0].content[0]' });
  expect(checkBedrockRequest(body(), {}).problems).toEqual([]);
  // Tools go to Anthropic models, as InvokeModel.
  expect(checkBedrockRequest(body({ model: CLAUDE, tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }] }), {}).problems).toEqual([]);
});

test('record ids are anybatch own, in line order, and read back', () => {
  expect(JSON.parse(recordLine(7, { a: 1 }))).toEqual({ recordId: 'R0000000007', modelInput: { a: 1 } });
  expect(recordIndex('R0000000007')).toBe(7);
  expect(recordIndex('CALL0000001')).toBeNull();
  expect(recordIndex(7)).toBeNull();
});

test('output records become OpenAI lines: Converse and Anthropic outputs, and error records', () => {
  const converse = toOpenAIResultLine(
    { recordId: 'R0000000000', modelOutput: { output: { message: { role: 'assistant', content: [{ text: 'Hello' }] } }, stopReason: 'max_tokens', usage: { inputTokens: 5, outputTokens: 2, totalTokens: 7 } } },
    'mine-0',
    { type: 'Converse', model: NOVA, createdAt: 100 },
  );
  expect(converse).toMatchObject({ custom_id: 'mine-0', error: null, response: { status_code: 200, body: { object: 'chat.completion', model: NOVA, choices: [{ message: { content: 'Hello' }, finish_reason: 'length' }], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } } } });
  const claude = toOpenAIResultLine(
    { recordId: 'R0000000001', modelOutput: { id: 'msg_1', type: 'message', role: 'assistant', model: CLAUDE, content: [{ type: 'text', text: 'Hi!' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 3, output_tokens: 1 } } },
    'mine-1',
    { type: 'InvokeModel', model: CLAUDE, createdAt: 100 },
  );
  expect(claude).toMatchObject({ custom_id: 'mine-1', response: { status_code: 200, body: { choices: [{ message: { content: 'Hi!' }, finish_reason: 'stop' }] } } });
  const failed = toOpenAIResultLine({ recordId: 'R0000000002', error: { errorCode: 400, errorMessage: 'Malformed input request' } }, 'mine-2', { type: 'Converse', model: NOVA, createdAt: 100 });
  expect(failed).toMatchObject({ custom_id: 'mine-2', response: { status_code: 400, body: { error: { message: 'Malformed input request', type: 'invalid_request_error' } } } });
});

test('job statuses read as OpenAI statuses, with counts and the failure message', () => {
  const job = { jobArn: 'arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abc123', modelId: NOVA, roleArn: 'r', submitTime: new Date(1_000_000), inputDataConfig: undefined, outputDataConfig: undefined };
  expect(toOpenAIBatch({ ...job, status: 'Scheduled' }).status).toBe('in_progress');
  expect(toOpenAIBatch({ ...job, status: 'PartiallyCompleted', totalRecordCount: 10, successRecordCount: 7, errorRecordCount: 1 })).toMatchObject({ status: 'expired', request_counts: { total: 10, completed: 7, failed: 1 } });
  expect(toOpenAIBatch({ ...job, status: 'Completed', totalRecordCount: 10, successRecordCount: 9, errorRecordCount: 1 }).status).toBe('completed');
  expect(toOpenAIBatch({ ...job, status: 'Failed', message: 'too few records' }).errors?.data?.[0]).toMatchObject({ code: 'job_failed', message: 'too few records' });
  expect(toOpenAIBatch({ ...job, status: 'Stopped' }).status).toBe('cancelled');
  expect(() => toOpenAIBatch({ ...job, status: 'Dreaming' as never })).toThrow(/does not know/);
});

test('options are checked before anything starts, naming the option', () => {
  expect(parseBedrockOptions({ roleArn: 'arn:aws:iam::123456789012:role/batch', outputS3Uri: 's3://bucket/out', region: 'eu-west-1', modelInvocationType: 'Converse' })).toEqual({
    roleArn: 'arn:aws:iam::123456789012:role/batch',
    outputS3Uri: 's3://bucket/out',
    region: 'eu-west-1',
    modelInvocationType: 'Converse',
  });
  expect(() => parseBedrockOptions({ roleArn: 'batch-role' })).toThrow(/roleArn must be an IAM role ARN/);
  expect(() => parseBedrockOptions({ outputS3Uri: 'https://bucket/out' })).toThrow(UsageError);
  expect(() => parseBedrockOptions({ modelInvocationType: 'Chat' })).toThrow(/Converse.*InvokeModel/);
  expect(parseS3Uri('s3://my-bucket/a/b', 'x')).toEqual({ bucket: 'my-bucket', prefix: 'a/b/' });
  expect(() => parseS3Uri('s3://my-bucket/a/../b', 'x')).toThrow(/"\.\."/);
});

describe("the output root: where the worker's AWS credentials may write", () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });
  const { outputRoot } = jest.requireActual<typeof import('../../src/providers/bedrock/adapter')>('../../src/providers/bedrock/adapter');

  test('an outputS3Uri under an allowed entry or the worker store is taken; any other is refused, naming the variable', () => {
    delete process.env.ANYBATCH_STORAGE;
    process.env.ANYBATCH_BEDROCK_S3_URIS = 's3://team-bucket/batches/';
    expect(outputRoot({ outputS3Uri: 's3://team-bucket/batches/x/' })).toEqual({ bucket: 'team-bucket', prefix: 'batches/x/' });
    expect(() => outputRoot({ outputS3Uri: 's3://someone-else/' })).toThrow(/not under an entry of ANYBATCH_BEDROCK_S3_URIS/);
    expect(() => outputRoot({ outputS3Uri: 's3://team-bucket/batchesX/' })).toThrow(/not under an entry/);
    // No option and no S3 store: where to put the input cannot be guessed.
    expect(() => outputRoot({})).toThrow(/pass the outputS3Uri option/);
    process.env.ANYBATCH_STORAGE = 's3://store-bucket/anybatch';
    expect(outputRoot({})).toEqual({ bucket: 'store-bucket', prefix: 'anybatch/bedrock/' });
  });
});
