/** The Anthropic dialect on the wire: auth headers, request ids, error shapes, envelope checks, limits and faults. */
import Anthropic from '@anthropic-ai/sdk';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { anthropicFor, HEADERS, ids, request, results, waitEnded } from './anthropic-helpers';

interface ErrorBody {
  type: string;
  error: { type: string; message: string };
  request_id: string;
}

let sandbox: Sandbox;
let client: Anthropic;

beforeAll(async () => {
  sandbox = await startSandbox({ rate: 1000 });
  client = anthropicFor(sandbox);
});

afterEach(() => sandbox.setFaults({}));

afterAll(async () => {
  await sandbox.close();
});

async function post(body: unknown, headers: Record<string, string> = HEADERS): Promise<Response> {
  return fetch(`${sandbox.url}/v1/messages/batches`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

/** Checks the Anthropic error shape and that the body's request_id is the `request-id` header; returns the error. */
async function errorOf(res: Response, status: number): Promise<ErrorBody['error']> {
  expect(res.status).toBe(status);
  const body = (await res.json()) as ErrorBody;
  expect(body).toEqual({ type: 'error', error: { type: expect.any(String), message: expect.any(String) }, request_id: res.headers.get('request-id') });
  return body.error;
}

test('a request without an API key gets 401 authentication_error', async () => {
  const res = await fetch(`${sandbox.url}/v1/messages/batches`, { headers: { 'anthropic-version': '2023-06-01' } });
  expect((await errorOf(res, 401)).type).toBe('authentication_error');
});

test('a bearer token works in place of x-api-key', async () => {
  const res = await fetch(`${sandbox.url}/v1/messages/batches`, { headers: { authorization: 'Bearer k', 'anthropic-version': '2023-06-01' } });
  expect(res.status).toBe(200);
});

test('a request without anthropic-version gets 400 invalid_request_error', async () => {
  const res = await fetch(`${sandbox.url}/v1/messages/batches`, { headers: { 'x-api-key': 'k' } });
  expect(await errorOf(res, 400)).toEqual({ type: 'invalid_request_error', message: 'anthropic-version: header is required' });
});

test('with the apiKey option only that key is accepted', async () => {
  const strict = await startSandbox({ apiKey: 'right' });
  try {
    await expect(anthropicFor(strict).messages.batches.list()).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
    const ok = new Anthropic({ baseURL: strict.url, apiKey: 'right' });
    expect((await ok.messages.batches.list()).data).toEqual([]);
  } finally {
    await strict.close();
  }
});

test('every Anthropic response carries a request-id header, which the SDK exposes', async () => {
  const { response } = await client.messages.batches.list().withResponse();
  expect(response.headers.get('request-id')).toMatch(/^req_011\w{21}$/);
  const err = (await client.messages.batches.retrieve('msgbatch_missing').catch((e: unknown) => e)) as InstanceType<typeof Anthropic.NotFoundError>;
  expect(err).toBeInstanceOf(Anthropic.NotFoundError);
  expect(err.requestID).toMatch(/^req_011/);
  expect(err.error).toMatchObject({ type: 'error', error: { type: 'not_found_error' }, request_id: err.requestID });
});

test('an unknown path under /v1/messages is a 404 in the Anthropic shape', async () => {
  const res = await fetch(`${sandbox.url}/v1/messages/batches/x/y`, { headers: HEADERS });
  expect((await errorOf(res, 404)).type).toBe('not_found_error');
});

test('the ?beta=true query is ignored by the router', async () => {
  const res = await fetch(`${sandbox.url}/v1/messages/batches?beta=true&limit=1`, { headers: { ...HEADERS, 'anthropic-beta': 'message-batches-2024-09-24' } });
  expect(res.status).toBe(200);
});

test('a custom_id outside the pattern is refused with 400 at create', async () => {
  const err = await errorOf(await post({ requests: [request('ok'), request('has space')] }), 400);
  expect(err.type).toBe('invalid_request_error');
  expect(err.message).toMatch(/^requests\.1\.custom_id: .*\^\[a-zA-Z0-9_-\]\{1,64\}\$/);
  expect((await errorOf(await post({ requests: [request('x'.repeat(65))] }), 400)).message).toMatch(/^requests\.0\.custom_id/);
});

test('a duplicate custom_id is refused with 400 naming the id', async () => {
  await expect(client.messages.batches.create({ requests: [request('twice'), request('once'), request('twice')] })).rejects.toMatchObject({
    status: 400,
    type: 'invalid_request_error',
    message: expect.stringContaining("'twice'"),
  });
});

test('zero requests are refused with 400', async () => {
  expect(await errorOf(await post({ requests: [] }), 400)).toEqual({
    type: 'invalid_request_error',
    message: 'requests: List should have at least 1 item after validation, not 0',
  });
});

test('a body without a requests list is refused with 400', async () => {
  expect((await errorOf(await post({}), 400)).message).toBe('requests: Field required');
  expect((await errorOf(await post({ requests: {} }), 400)).message).toBe('requests: Input should be a valid list');
});

test('a request without a params object is refused with 400', async () => {
  expect((await errorOf(await post({ requests: [{ custom_id: 'no-params' }] }), 400)).message).toBe('requests.0.params: Field required');
});

test('a body that is not valid JSON is refused with 400', async () => {
  const err = await errorOf(await post('{"requests": [{"custom_id": "a", "params": {}},]}'), 400);
  expect(err.message).toMatch(/^There was an error parsing the body of your request: /);
});

test('a refused create registers no batch', async () => {
  const before = sandbox.stats().messageBatchesCreated;
  await post({ requests: [] });
  expect(sandbox.stats().messageBatchesCreated).toBe(before);
});

test('more requests than maxRequests are refused with 400', async () => {
  const small = await startSandbox({ maxRequests: 5 });
  try {
    const smallClient = anthropicFor(small);
    await expect(smallClient.messages.batches.create({ requests: ids(6).map((id) => request(id)) })).rejects.toMatchObject({ status: 400, type: 'invalid_request_error' });
    expect((await smallClient.messages.batches.create({ requests: ids(5).map((id) => request(id)) })).request_counts.processing).toBe(5);
  } finally {
    await small.close();
  }
});

test('a body over maxBytes is refused with 413 request_too_large', async () => {
  const small = await startSandbox({ maxBytes: 4096 });
  try {
    const big = [request('big', { messages: [{ role: 'user', content: 'x'.repeat(5000) }] })];
    const err = (await anthropicFor(small).messages.batches.create({ requests: big }).catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
    expect(err.status).toBe(413);
    expect(err.error).toMatchObject({ type: 'error', error: { type: 'request_too_large' } });
  } finally {
    await small.close();
  }
});

test('results before the batch has ended are a 400 in the Anthropic shape', async () => {
  const slow = await startSandbox({ rate: 0.001 });
  try {
    const batch = await anthropicFor(slow).messages.batches.create({ requests: [request('a')] });
    const res = await fetch(`${slow.url}/v1/messages/batches/${batch.id}/results`, { headers: HEADERS });
    expect((await errorOf(res, 400)).type).toBe('invalid_request_error');
    await expect(anthropicFor(slow).messages.batches.results(batch.id)).rejects.toThrow(/No batch `results_url`/);
  } finally {
    await slow.close();
  }
});

test('results are served as application/binary with a Content-Length', async () => {
  const batch = await client.messages.batches.create({ requests: ids(3).map((id) => request(id)) });
  const ended = await waitEnded(client, batch.id);
  const res = await fetch(ended.results_url as string, { headers: HEADERS });
  const text = await res.text();
  expect(res.headers.get('content-type')).toBe('application/binary');
  expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(text)));
  expect(text.trim().split('\n')).toHaveLength(3);
});

test('with rate429 = 1 every Anthropic request gets a 429 rate_limit_error with retry-after', async () => {
  sandbox.setFaults({ rate429: 1, retryAfterSeconds: 7 });
  const res = await fetch(`${sandbox.url}/v1/messages/batches`, { headers: HEADERS });
  expect(res.headers.get('retry-after')).toBe('7');
  expect((await errorOf(res, 429)).type).toBe('rate_limit_error');
});

test('with rate500 = 0.3 the SDK retries its way through a whole batch', async () => {
  // Seed 8's first draw (0.156) fails the create itself, so a fault happens however fast the batch ends; with seed 42
  // the first fault was the fifth request, which a batch that ends at its first poll never makes.
  const before = sandbox.stats().faults.rate500;
  sandbox.setFaults({ rate500: 0.3, seed: 8 });
  const retrying = anthropicFor(sandbox, { maxRetries: 8 });
  const all = ids(10);
  const batch = await retrying.messages.batches.create({ requests: all.map((id) => request(id)) });
  await waitEnded(retrying, batch.id);
  const lines = await results(retrying, batch.id);
  expect(lines.map((l) => l.custom_id).sort()).toEqual([...all].sort());
  expect(sandbox.stats().faults.rate500).toBeGreaterThan(before);
});

test('a dropped connection gives the SDK a connection error', async () => {
  sandbox.setFaults({ rateDrop: 1 });
  await expect(anthropicFor(sandbox, { maxRetries: 0 }).messages.batches.list()).rejects.toBeInstanceOf(Anthropic.APIConnectionError);
});

test('createResponseDelayMs registers the batch at once but holds back the answer', async () => {
  sandbox.setFaults({ createResponseDelayMs: 300 });
  const creating = client.messages.batches.create({ requests: [request('delayed')] });
  await new Promise((resolve) => setTimeout(resolve, 150));
  const listedMeanwhile = (await client.messages.batches.list({ limit: 1 })).data[0].id;
  expect(listedMeanwhile).toBe((await creating).id);
});

test('a truncated results download gives the SDK a broken stream', async () => {
  const batch = await client.messages.batches.create({ requests: ids(50).map((id) => request(id)) });
  await waitEnded(client, batch.id);
  sandbox.setFaults({ truncateDownloads: 1 });
  await expect(results(client, batch.id)).rejects.toThrow();
  expect(sandbox.stats().faults.truncated).toBe(1);
});

test('stats count Message Batches created and their statuses under anthropic: keys', async () => {
  const before = sandbox.stats();
  const batch = await client.messages.batches.create({ requests: [request('counted')] });
  await waitEnded(client, batch.id);
  const after = sandbox.stats();
  expect(after.messageBatchesCreated).toBe(before.messageBatchesCreated + 1);
  expect(after.batchesCreated).toBe(before.batchesCreated);
  expect(after.batchesByStatus['anthropic:ended']).toBe((before.batchesByStatus['anthropic:ended'] ?? 0) + 1);
});
