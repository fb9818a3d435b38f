/** OpenAI chat requests <-> Vertex AI batch prediction lines (src/providers/vertexai/records.ts), its jobs and options. */
import { parseGcsUri, parseVertexOptions } from '../../src/providers/vertexai/options';
import { checkVertexRequest, predictionIndex, publisherModel, toOpenAIResultLine, vertexLine } from '../../src/providers/vertexai/records';
import { toOpenAIBatch } from '../../src/providers/vertexai/batch-object';
import { outputPrefix } from '../../src/providers/vertexai/adapter';

test('a request becomes a {request} line of the Gemini mapping, its id in the request labels', () => {
  const { model, line } = vertexLine(12, { model: 'publishers/google/models/gemini-2.5-flash', max_tokens: 30, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }] });
  expect(model).toBe('gemini-2.5-flash');
  const parsed = JSON.parse(line);
  expect(Object.keys(parsed)).toEqual(['request']);
  expect(parsed.request).toMatchObject({ contents: [{ role: 'user', parts: [{ text: 'Hi' }] }], systemInstruction: { parts: [{ text: 'Be brief.' }] }, generationConfig: { maxOutputTokens: 30 }, labels: { anybatch_request: 'r0000000012' } });
  expect(predictionIndex(parsed)).toBe(12);
  expect(publisherModel('models/gemini-2.5-pro')).toBe('publishers/google/models/gemini-2.5-pro');
  expect(checkVertexRequest({ model: 'publishers/meta/models/llama', messages: [{ role: 'user', content: 'x' }] }).problems[0]).toMatchObject({ field: 'body.model' });
});

test('prediction lines become OpenAI lines: a response, and a status as an error', () => {
  const ok = toOpenAIResultLine(
    { request: { labels: { anybatch_request: 'r0000000000' } }, response: { candidates: [{ content: { role: 'model', parts: [{ text: 'Hello' }] }, finishReason: 'STOP' }], usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 1, totalTokenCount: 4 }, modelVersion: 'gemini-2.5-flash' } },
    'mine-0',
    { model: 'gemini-2.5-flash', createdAt: 5 },
  );
  expect(ok).toMatchObject({ custom_id: 'mine-0', error: null, response: { status_code: 200, body: { choices: [{ message: { content: 'Hello' } }], usage: { prompt_tokens: 3, completion_tokens: 1 } } } });
  const failed = toOpenAIResultLine({ request: {}, status: 'Bad Request: the request is invalid' }, 'mine-1', { model: 'gemini-2.5-flash', createdAt: 5 });
  expect(failed.custom_id).toBe('mine-1');
  expect(JSON.stringify(failed)).toContain('the request is invalid');
  expect(failed.response?.status_code ?? 500).toBeGreaterThanOrEqual(400);
});

test('job states read as OpenAI statuses, with counts (int64 strings) and the error', () => {
  const job = { name: 'projects/p/locations/us-central1/batchPredictionJobs/123', createTime: '2026-12-07T00:00:00Z' };
  expect(toOpenAIBatch({ ...job, state: 'JOB_STATE_PENDING' }).status).toBe('validating');
  expect(toOpenAIBatch({ ...job, state: 'JOB_STATE_SUCCEEDED', completionStats: { successfulCount: '7', failedCount: '2', incompleteCount: '1' } }, 10)).toMatchObject({ status: 'completed', request_counts: { total: 10, completed: 7, failed: 2 } });
  expect(toOpenAIBatch({ ...job, state: 'JOB_STATE_FAILED', error: { code: 5, message: 'gs://b/x not found' } }).errors?.data?.[0]).toMatchObject({ code: 'job_failed', message: 'gs://b/x not found' });
  expect(toOpenAIBatch({ ...job, state: 'JOB_STATE_CANCELLED' }).status).toBe('cancelled');
  expect(() => toOpenAIBatch({ ...job, state: 'JOB_STATE_NAPPING' })).toThrow(/does not know/);
});

describe("options and the output prefix: where the worker's Google credentials may write", () => {
  const saved = process.env.ANYBATCH_VERTEX_GCS_URIS;
  afterEach(() => {
    if (saved === undefined) delete process.env.ANYBATCH_VERTEX_GCS_URIS;
    else process.env.ANYBATCH_VERTEX_GCS_URIS = saved;
  });

  test('options are checked, naming the option', () => {
    expect(parseVertexOptions({ project: 'my-project', location: 'europe-west4', outputUriPrefix: 'gs://bucket/out' })).toEqual({ project: 'my-project', location: 'europe-west4', outputUriPrefix: 'gs://bucket/out' });
    expect(() => parseVertexOptions({ project: 'My Project' })).toThrow(/project must be/);
    expect(() => parseVertexOptions({ outputUriPrefix: 's3://bucket/out' })).toThrow(/outputUriPrefix must be a gs:\/\//);
    expect(parseGcsUri('gs://bucket/a/b', 'x')).toEqual({ bucket: 'bucket', prefix: 'a/b/' });
  });

  test('the first allowed entry is the default; a prefix outside every entry is refused', () => {
    delete process.env.ANYBATCH_VERTEX_GCS_URIS;
    expect(() => outputPrefix({})).toThrow(/pass the outputUriPrefix option/);
    expect(() => outputPrefix({ outputUriPrefix: 'gs://bucket/out/' })).toThrow(/not under an entry of ANYBATCH_VERTEX_GCS_URIS/);
    process.env.ANYBATCH_VERTEX_GCS_URIS = 'gs://team/batches/, gs://other/';
    expect(outputPrefix({})).toEqual({ bucket: 'team', prefix: 'batches/' });
    expect(outputPrefix({ outputUriPrefix: 'gs://other/x' })).toEqual({ bucket: 'other', prefix: 'x/' });
    expect(() => outputPrefix({ outputUriPrefix: 'gs://team/batches-b/' })).toThrow(/not under an entry/);
  });
});

test('Claude on Vertex: {custom_id, request} lines of the Messages body (vertex-2023-10-16), Anthropic messages back', () => {
  const { model, line } = vertexLine(3, { model: 'claude-sonnet-4-5', max_tokens: 40, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }] });
  expect(model).toBe('claude-sonnet-4-5');
  expect(publisherModel('claude-sonnet-4-5')).toBe('publishers/anthropic/models/claude-sonnet-4-5');
  expect(JSON.parse(line)).toEqual({ custom_id: 'r0000000003', request: { anthropic_version: 'vertex-2023-10-16', max_tokens: 40, system: 'Be brief.', messages: [{ role: 'user', content: 'Hi' }] } });
  const predicted = { custom_id: 'r0000000003', request: {}, status: '', response: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [{ type: 'text', text: 'Hello!' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 4, output_tokens: 2 } } };
  expect(predictionIndex(predicted as never)).toBe(3);
  expect(toOpenAIResultLine(predicted as never, 'mine-3', { model: 'claude-sonnet-4-5', createdAt: 1 })).toMatchObject({ custom_id: 'mine-3', response: { status_code: 200, body: { object: 'chat.completion', choices: [{ message: { content: 'Hello!' }, finish_reason: 'stop' }] } } });
  expect(checkVertexRequest({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'x' }], n: 3 }).problems[0]).toMatchObject({ field: 'body.n' });
});
