/**
 * The bedrock module's pure parts, without servers: which model family answers a job, input lines as records
 * (Bedrock's generated recordIds, what fails validation), the stand-in model's replies by family and invocation type
 * (Anthropic under InvokeModel, Nova, Converse for any family), error records (schema refusals, `sandbox_error`, the
 * request fault, Converse's refusal of tools), output lines, the create body's constraints and idempotency fingerprint,
 * list query parsing, the SigV4 credential, AWS error typing and the S3 client settings.
 */
import { REQUEST_FAULT_MESSAGE } from '../../src/sandbox/kernel/faults';
import { ApiError } from '../../src/sandbox/kernel/http';
import { anthropicModelName, familyOf, supported } from '../../src/sandbox/providers/bedrock/models';
import { generatedRecordId, parseRecordLine, RECORD_ID_LENGTH } from '../../src/sandbox/providers/bedrock/records';
import { answerRecord, recordError, type RecordContext } from '../../src/sandbox/providers/bedrock/reply';
import { CONVERSE_TOOLS_REFUSED } from '../../src/sandbox/providers/bedrock/converse';
import { outputLine } from '../../src/sandbox/providers/bedrock/outputs';
import { parseCreateRequest, sameRequest } from '../../src/sandbox/providers/bedrock/request';
import { parseListQuery } from '../../src/sandbox/providers/bedrock/list';
import { credentialOf } from '../../src/sandbox/providers/bedrock/auth';
import { awsTypeOf, bedrockError } from '../../src/sandbox/providers/bedrock/errors';
import { folderKey, parseS3Uri, s3ClientConfig } from '../../src/sandbox/providers/bedrock/s3';
import type { IncomingMessage } from 'node:http';

const CLAUDE = 'anthropic.claude-3-5-haiku-20241022-v1:0';
const NOVA = 'amazon.nova-lite-v1:0';
const invoke = (modelId: string): RecordContext => ({ modelId, invocationType: 'InvokeModel' });
const converse = (modelId: string): RecordContext => ({ modelId, invocationType: 'Converse' });

const claudeBody = (text: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  anthropic_version: 'bedrock-2023-05-31',
  max_tokens: 200,
  messages: [{ role: 'user', content: text }],
  ...extra,
});
const messagesBody = (text: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  messages: [{ role: 'user', content: [{ text }] }],
  ...extra,
});

describe('model families', () => {
  test.each([
    [CLAUDE, 'anthropic'],
    ['us.anthropic.claude-sonnet-4-20250514-v1:0', 'anthropic'],
    ['arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0', 'anthropic'],
    [NOVA, 'nova'],
    ['eu.amazon.nova-pro-v1:0', 'nova'],
    ['meta.llama3-1-70b-instruct-v1:0', 'other'],
    ['amazon.titan-text-express-v1', 'other'],
  ])('%s is %s', (modelId, family) => {
    expect(familyOf(modelId)).toBe(family);
  });

  test('InvokeModel is answered for Anthropic and Nova only; Converse for every family', () => {
    expect([supported(CLAUDE, 'InvokeModel'), supported(NOVA, 'InvokeModel'), supported('meta.llama3-1-70b-instruct-v1:0', 'InvokeModel')]).toEqual([true, true, false]);
    expect(supported('meta.llama3-1-70b-instruct-v1:0', 'Converse')).toBe(true);
  });

  test("Claude's replies name the model without region prefix, provider and version", () => {
    expect(anthropicModelName('us.anthropic.claude-3-5-haiku-20241022-v1:0')).toBe('claude-3-5-haiku-20241022');
  });
});

describe('input lines as records', () => {
  const at = { uri: 's3://bucket/in/data.jsonl', line: 7 };

  test('a record keeps its recordId and modelInput', () => {
    expect(parseRecordLine(JSON.stringify({ recordId: 'CALL0000001', modelInput: { a: 1 } }), at, () => 'unused')).toEqual({ recordId: 'CALL0000001', modelInput: { a: 1 } });
  });

  test('a record without recordId gets one of 11 uppercase alphanumerics, the same for the same line', () => {
    const id = generatedRecordId('job', 0, 7);
    expect(id).toMatch(new RegExp(`^[A-Z0-9]{${RECORD_ID_LENGTH}}$`));
    expect(generatedRecordId('job', 0, 7)).toBe(id);
    expect(generatedRecordId('job', 0, 8)).not.toBe(id);
    expect(parseRecordLine(JSON.stringify({ modelInput: {} }), at, () => id)).toEqual({ recordId: id, modelInput: {} });
  });

  test.each([
    ['{not json', /Line 7 of s3:\/\/bucket\/in\/data\.jsonl is not valid JSON/],
    ['[1, 2]', /Line 7 of s3:\/\/bucket\/in\/data\.jsonl is not a JSON object/],
    ['{"recordId": "A1"}', /The record on line 7 of s3:\/\/bucket\/in\/data\.jsonl has no modelInput object/],
    ['{"recordId": "A1", "modelInput": "text"}', /has no modelInput object/],
    ['{"recordId": 12, "modelInput": {}}', /The recordId on line 7 .* is not a string/],
  ])('validation refuses %s', (text, message) => {
    const parsed = parseRecordLine(text, at, () => 'X');
    expect('problem' in parsed && parsed.problem).toMatch(message);
  });
});

describe('InvokeModel with an Anthropic model', () => {
  test('the reply is an Anthropic message with a msg_bdrk_ id, the kernel reply text and usage', () => {
    const { reply, error } = answerRecord(invoke(CLAUDE), claudeBody('Say hello to r1'), false, 'job/0');
    expect(error).toBeNull();
    expect(reply!.modelOutput).toEqual({
      id: expect.stringMatching(/^msg_bdrk_01[A-Za-z0-9]{22}$/),
      type: 'message',
      role: 'assistant',
      model: 'claude-3-5-haiku-20241022',
      content: [{ type: 'text', text: 'Sandbox reply to: Say hello to r1' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 4, output_tokens: 9 },
    });
    expect([reply!.inputTokens, reply!.outputTokens]).toEqual([4, 9]);
    // Stable per record, different between records.
    expect(answerRecord(invoke(CLAUDE), claudeBody('Say hello to r1'), false, 'job/0').reply!.modelOutput.id).toBe(reply!.modelOutput.id);
    expect(answerRecord(invoke(CLAUDE), claudeBody('Say hello to r1'), false, 'job/1').reply!.modelOutput.id).not.toBe(reply!.modelOutput.id);
  });

  test('the system prompt shows in the reply, and max_tokens cuts it with stop_reason max_tokens', () => {
    const withSystem = answerRecord(invoke(CLAUDE), claudeBody('Hi', { system: 'Be brief' }), false, 'k').reply!.modelOutput;
    expect((withSystem.content as Array<{ text: string }>)[0].text).toBe('Sandbox reply to: Hi [system: Be brief]');
    const cut = answerRecord(invoke(CLAUDE), claudeBody('Say hello to r1', { max_tokens: 2 }), false, 'k').reply!.modelOutput;
    expect(cut).toMatchObject({ stop_reason: 'max_tokens', content: [{ text: 'Sandbox ' }], usage: { output_tokens: 2 } });
  });

  test.each([
    [{ max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }, /required key \[anthropic_version\] not found/],
    [{ anthropic_version: 'vertex-2023-10-16', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }, /anthropic_version: "vertex-2023-10-16" is not a valid enum value/],
    [{ anthropic_version: 'bedrock-2023-05-31', messages: [{ role: 'user', content: 'x' }] }, /required key \[max_tokens\] not found/],
    [{ anthropic_version: 'bedrock-2023-05-31', max_tokens: 10, model: 'claude', messages: [{ role: 'user', content: 'x' }] }, /extraneous key \[model\] is not permitted/],
    [{ anthropic_version: 'bedrock-2023-05-31', max_tokens: 10, messages: [] }, /#\/messages: expected a non-empty JSONArray/],
  ])('a body Bedrock refuses is a 400 error record: %j', (body, message) => {
    const { reply, error } = answerRecord(invoke(CLAUDE), body, false, 'k');
    expect(reply).toBeNull();
    expect(error!.errorCode).toBe(400);
    expect(error!.errorMessage).toMatch(message);
    expect(error!.errorMessage).toMatch(/^Malformed input request: .*, please reformat your input and try again\.$/);
  });
});

describe('InvokeModel with a Nova model', () => {
  test("the reply is Nova's: output.message, stopReason, usage with totalTokens", () => {
    const out = answerRecord(invoke(NOVA), messagesBody('Say hello to n1', { system: [{ text: 'Be kind' }] }), false, 'k').reply!.modelOutput;
    expect(out).toEqual({
      output: { message: { role: 'assistant', content: [{ text: 'Sandbox reply to: Say hello to n1 [system: Be kind]' }] } },
      stopReason: 'end_turn',
      usage: { inputTokens: 6, outputTokens: 13, totalTokens: 19 },
    });
    expect(out).not.toHaveProperty('metrics');
  });

  test('inferenceConfig.maxTokens cuts the reply', () => {
    const out = answerRecord(invoke(NOVA), messagesBody('Say hello', { inferenceConfig: { maxTokens: 1 } }), false, 'k').reply!.modelOutput;
    expect(out).toMatchObject({ stopReason: 'max_tokens', usage: { outputTokens: 1 } });
  });

  test('content that is not a list of blocks is a 400 error record', () => {
    expect(recordError(invoke(NOVA), { messages: [{ role: 'user', content: 'plain string' }] }, false)).toEqual({
      errorCode: 400,
      errorMessage: expect.stringContaining('#/messages/0/content: expected type: JSONArray'),
    });
  });
});

describe('Converse jobs', () => {
  test('any family is answered with the Converse response, metrics included', () => {
    for (const modelId of [CLAUDE, NOVA, 'meta.llama3-1-70b-instruct-v1:0']) {
      const out = answerRecord(converse(modelId), messagesBody('Say hello to c1'), false, 'k').reply!.modelOutput;
      expect(out).toEqual({
        output: { message: { role: 'assistant', content: [{ text: 'Sandbox reply to: Say hello to c1' }] } },
        stopReason: 'end_turn',
        usage: { inputTokens: 4, outputTokens: 9, totalTokens: 13 },
        metrics: { latencyMs: expect.any(Number) },
      });
    }
  });

  test('a record with toolConfig is a 400 error record (no tool calling in Converse batch jobs)', () => {
    const body = messagesBody('Use a tool', { toolConfig: { tools: [{ toolSpec: { name: 'f', inputSchema: { json: {} } } }] } });
    expect(recordError(converse(CLAUDE), body, false)).toEqual({ errorCode: 400, errorMessage: CONVERSE_TOOLS_REFUSED });
    // The same body under InvokeModel for Nova is no Converse record: tools are the model's business there.
    expect(recordError(invoke(NOVA), body, false)).toBeNull();
  });

  test("an Anthropic body is not a Converse body: a Converse job's record of that shape fails", () => {
    expect(recordError(converse(CLAUDE), claudeBody('x'), false)?.errorCode).toBe(400);
  });
});

describe('records that fail whatever they ask', () => {
  test('"sandbox_error": <status> becomes an error record with that code; other values give 400', () => {
    expect(recordError(invoke(CLAUDE), claudeBody('x', { sandbox_error: 429 }), false)).toEqual({ errorCode: 429, errorMessage: expect.stringContaining('sandbox_error=429') });
    expect(recordError(invoke(CLAUDE), claudeBody('x', { sandbox_error: 'boom' }), false)?.errorCode).toBe(400);
  });

  test('a record drawn by the request fault is a 500 error record, even when its body is fine', () => {
    expect(recordError(invoke(CLAUDE), claudeBody('x'), true)).toEqual({ errorCode: 500, errorMessage: REQUEST_FAULT_MESSAGE });
  });
});

describe('output lines', () => {
  test('a success carries recordId, modelInput and modelOutput; a failure error instead of modelOutput', () => {
    const ok = outputLine(invoke(CLAUDE), { recordId: 'R1', modelInput: claudeBody('a') }, false, 'k');
    expect(Object.keys(ok.line)).toEqual(['recordId', 'modelInput', 'modelOutput']);
    expect(ok.line.modelInput).toEqual(claudeBody('a'));
    expect(ok.inputTokens).toBeGreaterThan(0);
    const bad = outputLine(invoke(CLAUDE), { recordId: 'R2', modelInput: { sandbox_error: 400 } }, false, 'k');
    expect(bad.line).toEqual({ recordId: 'R2', modelInput: { sandbox_error: 400 }, error: { errorCode: 400, errorMessage: expect.any(String) } });
    expect([bad.inputTokens, bad.outputTokens]).toEqual([0, 0]);
  });
});

describe('the create body', () => {
  const valid = {
    jobName: 'anybatch-job-1',
    roleArn: 'arn:aws:iam::123456789012:role/BedrockBatch',
    modelId: CLAUDE,
    inputDataConfig: { s3InputDataConfig: { s3Uri: 's3://bucket/in/data.jsonl' } },
    outputDataConfig: { s3OutputDataConfig: { s3Uri: 's3://bucket/out/' } },
    clientRequestToken: 'token-1',
  };

  test('defaults: InvokeModel, a 72-hour timeout, no tags', () => {
    expect(parseCreateRequest(valid)).toMatchObject({ invocationType: 'InvokeModel', timeoutDurationInHours: 72, tags: [], vpcConfig: null, clientRequestToken: 'token-1' });
  });

  test.each([
    [{ jobName: null }, "Value null at 'jobName' failed to satisfy constraint: Member must not be null"],
    [{ jobName: 'bad name!' }, "Value 'bad name!' at 'jobName' failed to satisfy constraint: Member must satisfy regular expression pattern"],
    [{ roleArn: 'role' }, "at 'roleArn' failed to satisfy constraint"],
    [{ inputDataConfig: { s3InputDataConfig: { s3Uri: 'https://bucket/x' } } }, "at 'inputDataConfig.s3InputDataConfig.s3Uri'"],
    [{ outputDataConfig: {} }, "Value null at 'outputDataConfig.s3OutputDataConfig'"],
    [{ timeoutDurationInHours: 23 }, "Value '23' at 'timeoutDurationInHours' failed to satisfy constraint: Member must have value greater than or equal to 24"],
    [{ timeoutDurationInHours: 169 }, 'Member must have value less than or equal to 168'],
    [{ modelInvocationType: 'Batch' }, "at 'modelInvocationType' failed to satisfy constraint: Member must satisfy enum value set: [InvokeModel, Converse]"],
    [{ tags: [{ key: 'k' }] }, "Value null at 'tags.1.member.value'"],
  ])('%j is a ValidationException', (change, message) => {
    let thrown: unknown;
    try {
      parseCreateRequest({ ...valid, ...change });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ApiError);
    expect([(thrown as ApiError).status, (thrown as ApiError).type]).toEqual([400, 'ValidationException']);
    expect((thrown as ApiError).message).toContain(message);
    expect((thrown as ApiError).message).toMatch(/^1 validation error detected: /);
  });

  test('the idempotency fingerprint ignores the token and key order, and sees every other parameter', () => {
    const a = parseCreateRequest(valid);
    const reordered = parseCreateRequest({ outputDataConfig: valid.outputDataConfig, inputDataConfig: valid.inputDataConfig, modelId: CLAUDE, roleArn: valid.roleArn, jobName: valid.jobName });
    expect(sameRequest(a, reordered)).toBe(true);
    expect(sameRequest(a, parseCreateRequest({ ...valid, timeoutDurationInHours: 24 }))).toBe(false);
    expect(sameRequest(a, parseCreateRequest({ ...valid, tags: [{ key: 'k', value: 'v' }] }))).toBe(false);
  });
});

describe('list queries', () => {
  test('filters, order and page size as the SDK sends them', () => {
    const q = parseListQuery(new URLSearchParams('submitTimeAfter=2026-12-01T12:00:00Z&statusEquals=Completed&nameContains=abc&maxResults=5&sortOrder=Ascending&sortBy=CreationTime'));
    expect(q).toEqual({ after: Date.parse('2026-12-01T12:00:00Z'), before: null, status: 'Completed', nameContains: 'abc', maxResults: 5, nextToken: null, ascending: true });
    expect(parseListQuery(new URLSearchParams('')).ascending).toBe(false);
  });

  test.each([['statusEquals=Done'], ['maxResults=0'], ['maxResults=1001'], ['sortOrder=Up'], ['submitTimeBefore=yesterday']])('%s is a ValidationException', (query) => {
    expect(() => parseListQuery(new URLSearchParams(query))).toThrow(expect.objectContaining({ type: 'ValidationException', status: 400 }));
  });
});

describe('credentials, errors and S3 settings', () => {
  const req = (authorization?: string) => ({ headers: authorization === undefined ? {} : { authorization } }) as IncomingMessage;

  test("the SigV4 credential scope gives the access key id and the region; a bearer token is a Bedrock API key", () => {
    expect(credentialOf(req('AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261207/eu-west-3/bedrock/aws4_request, SignedHeaders=host, Signature=abc'))).toEqual({
      accessKeyId: 'AKIDEXAMPLE',
      region: 'eu-west-3',
    });
    expect(credentialOf(req('Bearer bedrock-api-key'))).toEqual({ accessKeyId: 'bedrock-api-key', region: 'us-east-1' });
    expect(credentialOf(req())).toBeNull();
    expect(credentialOf(req('Basic abc'))).toBeNull();
  });

  test("Bedrock's own errors keep their type; the kernel's are typed by status", () => {
    expect([bedrockError('ConflictException', 'x').status, bedrockError('ThrottlingException', 'x').status, bedrockError('ServiceQuotaExceededException', 'x').status]).toEqual([400, 429, 400]);
    expect(awsTypeOf(bedrockError('ConflictException', 'x'))).toBe('ConflictException');
    const byStatus = [400, 401, 403, 404, 409, 429, 500, 502, 503, 418].map((status) => awsTypeOf(new ApiError(status, 'm', 'server_error')));
    expect(byStatus).toEqual([
      'ValidationException',
      'UnrecognizedClientException',
      'AccessDeniedException',
      'ResourceNotFoundException',
      'ConflictException',
      'ThrottlingException',
      'InternalServerException',
      'InternalServerException',
      'ServiceUnavailableException',
      'ValidationException',
    ]);
  });

  test('S3 URIs: bucket and key; a key read as a folder', () => {
    expect(parseS3Uri('s3://my-bucket/a/b.jsonl')).toEqual({ bucket: 'my-bucket', key: 'a/b.jsonl' });
    expect(parseS3Uri('s3://my-bucket')).toEqual({ bucket: 'my-bucket', key: '' });
    expect(parseS3Uri('gs://my-bucket/a')).toBeNull();
    expect([folderKey(''), folderKey('in'), folderKey('in/')]).toEqual(['', 'in/', 'in/']);
  });

  test('the S3 client: the option over the AWS variables; a custom endpoint path-style', () => {
    const env = { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000', AWS_ACCESS_KEY_ID: 'env-key', AWS_SECRET_ACCESS_KEY: 'env-secret', AWS_REGION: 'eu-west-1' };
    expect(s3ClientConfig(null, env)).toMatchObject({ endpoint: 'http://127.0.0.1:9000', forcePathStyle: true, region: 'eu-west-1', credentials: { accessKeyId: 'env-key', secretAccessKey: 'env-secret' } });
    const option = { endpoint: 'http://127.0.0.1:7070', region: 'us-west-2', credentials: { accessKeyId: 'k', secretAccessKey: 's' } };
    expect(s3ClientConfig(option, env)).toMatchObject({ ...option, forcePathStyle: true });
    const aws = s3ClientConfig(null, {});
    expect(aws).toMatchObject({ region: 'us-east-1', credentials: undefined });
    expect(aws.endpoint).toBeUndefined();
    expect(aws.forcePathStyle).toBeUndefined();
  });
});
