/**
 * The vertexai module driven unchanged by the official Node SDK, `@google/genai` 2.32.0 in Vertex mode
 * (`vertexai: true`, a project and location, `httpOptions.baseUrl` = `<url>/vertexai/`), with an API key
 * (`x-goog-api-key`) and with a bearer token from a google-auth-library `OAuth2Client`: inputs uploaded to the gcs
 * module, jobs created, read, listed, cancelled and deleted, and their predictions read back from Cloud Storage.
 * The lifecycle cases (cancel, expiry, failures) run on a sandbox with a hand-moved clock, so they are exact.
 * The official Python client, google-genai 3.6.1, follows in test/sandbox/vertexai-python.test.ts.
 */
import { ApiError, GoogleGenAI, type BatchJob } from '@google/genai';
import { OAuth2Client } from 'google-auth-library';
import { startSandbox, type Sandbox } from '../../src/sandbox';

const PROJECT = 'anybatch-test';
const LOCATION = 'us-central1';
const BUCKET = 'anybatch-sandbox';
const NAME = /^projects\/anybatch-test\/locations\/us-central1\/batchPredictionJobs\/(\d{19})$/;

/**
 * Under jest's vm the SDK's default Undici dispatcher is not found (it lives on the outer realm's global), so the
 * clients get Node's fetch as their `httpOptions.fetch`; everything else is the SDK as shipped.
 */
const nodeFetch = (input: Parameters<typeof fetch>[0], init?: RequestInit) => fetch(input, init);

type Line = Record<string, unknown>;
type Prediction = Line & { request: Line; status: string; processed_time: string; response?: Record<string, any> };

function geminiLine(i: number, request: Line = {}): Line {
  return { id: `row-${i}`, request: { contents: [{ role: 'user', parts: [{ text: `prompt ${i}` }] }], ...request } };
}

function keyClient(sandbox: Sandbox, options: { location?: string; apiVersion?: string } = {}): GoogleGenAI {
  return new GoogleGenAI({
    vertexai: true,
    project: PROJECT,
    location: options.location ?? LOCATION,
    apiKey: 'vertex-test-key',
    ...(options.apiVersion ? { apiVersion: options.apiVersion } : {}),
    httpOptions: { baseUrl: `${sandbox.url}/vertexai/`, fetch: nodeFetch },
  });
}

function bearerClient(sandbox: Sandbox): GoogleGenAI {
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: 'fake-access-token', expiry_date: Date.now() + 365 * 24 * 3600 * 1000 });
  return new GoogleGenAI({ vertexai: true, project: PROJECT, location: LOCATION, googleAuthOptions: { authClient }, httpOptions: { baseUrl: `${sandbox.url}/vertexai/`, fetch: nodeFetch } });
}

async function putInput(sandbox: Sandbox, name: string, lines: Line[]): Promise<string> {
  const body = lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
  const res = await fetch(`${sandbox.baseUrls.gcs}/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { authorization: 'Bearer t', 'content-type': 'application/jsonl' },
    body,
  });
  expect(res.status).toBe(200);
  return `gs://${BUCKET}/${name}`;
}

/** The lines of `<gcsOutputDirectory>/predictions.jsonl`, read over the JSON API. */
async function predictions(sandbox: Sandbox, job: BatchJob): Promise<Prediction[]> {
  const dir = job.outputInfo?.gcsOutputDirectory ?? '';
  const match = /^gs:\/\/([^/]+)\/(.+)$/.exec(dir);
  if (!match) throw new Error(`no output directory: ${dir}`);
  const res = await fetch(`${sandbox.baseUrls.gcs}/storage/v1/b/${match[1]}/o/${encodeURIComponent(`${match[2]}/predictions.jsonl`)}?alt=media`, { headers: { authorization: 'Bearer t' } });
  expect(res.status).toBe(200);
  return (await res.text())
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Prediction);
}

async function raw(sandbox: Sandbox, path: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(`${sandbox.url}/vertexai/v1beta1/projects/${PROJECT}/locations/${LOCATION}/${path}`, {
    ...init,
    headers: { 'x-goog-api-key': 'k', 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const promptOf = (p: Prediction): string => ((p.request.contents as Array<{ parts: Array<{ text: string }> }>)[0].parts[0].text);

describe('on the real clock', () => {
  let sandbox: Sandbox;
  let ai: GoogleGenAI;

  beforeAll(async () => {
    sandbox = await startSandbox({ rate: 1000, validationMs: 30, cancellingMs: 30 });
    ai = keyClient(sandbox);
  });

  afterAll(async () => {
    await sandbox.close();
  });

  afterEach(() => sandbox.setFaults({}));

  async function until(client: GoogleGenAI, name: string, states: string[]): Promise<BatchJob> {
    for (let i = 0; i < 300; i++) {
      const job = await client.batches.get({ name });
      if (states.includes(job.state ?? '')) return job;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`job ${name} never reached ${states.join('/')}`);
  }

  test('the base URL is <url>/vertexai', () => {
    expect(sandbox.baseUrls.vertexai).toBe(`${sandbox.url}/vertexai`);
  });

  test('100 Gemini lines with an API key: pending, then succeeded; every request answered once, not in input order', async () => {
    const lines = Array.from({ length: 100 }, (_, i) => geminiLine(i, { generationConfig: { maxOutputTokens: 50 } }));
    const src = await putInput(sandbox, 'in/happy.jsonl', lines);
    const created = await ai.batches.create({ model: 'gemini-2.5-flash', src, config: { dest: `gs://${BUCKET}/out/`, displayName: 'happy path' } });
    expect(created.name).toMatch(NAME);
    expect(created).toMatchObject({ displayName: 'happy path', state: 'JOB_STATE_PENDING', model: 'publishers/google/models/gemini-2.5-flash' });
    expect(created.src).toEqual({ format: 'jsonl', gcsUri: [src] });
    expect(created.dest).toEqual({ format: 'jsonl', gcsUri: `gs://${BUCKET}/out/` });

    const id = NAME.exec(created.name!)![1];
    const done = await until(ai, id, ['JOB_STATE_SUCCEEDED']);
    expect(done.completionStats).toEqual({ successfulCount: '100' });
    expect(done.outputInfo?.gcsOutputDirectory).toMatch(/^gs:\/\/anybatch-sandbox\/out\/prediction-model-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    for (const time of [done.createTime, done.startTime, done.endTime, done.updateTime]) expect(new Date(time!).toISOString()).toBe(time);
    expect(Date.parse(done.startTime!)).toBeGreaterThanOrEqual(Date.parse(done.createTime!));
    expect(done.endTime).toBe(done.updateTime);

    const out = await predictions(sandbox, done);
    expect(out).toHaveLength(100);
    expect(out.map(promptOf).sort()).toEqual(lines.map((_, i) => `prompt ${i}`).sort());
    expect(out.map(promptOf)).not.toEqual(lines.map((_, i) => `prompt ${i}`));
    const seven = out.find((p) => p.id === 'row-7')!;
    expect(seven.request).toEqual(lines[7].request);
    expect(seven.status).toBe('');
    expect(new Date(seven.processed_time).toISOString()).toBe(seven.processed_time);
    expect(seven.response).toMatchObject({
      candidates: [{ content: { role: 'model', parts: [{ text: 'Sandbox reply to: prompt 7' }] }, finishReason: 'STOP' }],
      modelVersion: 'gemini-2.5-flash',
      usageMetadata: { promptTokenCount: 3, candidatesTokenCount: expect.any(Number), totalTokenCount: expect.any(Number) },
    });
  });

  test('with a bearer token from an OAuth2Client (no API key), on the v1 API too', async () => {
    const bearer = bearerClient(sandbox);
    const src = await putInput(sandbox, 'in/bearer.jsonl', [geminiLine(0), geminiLine(1)]);
    const created = await bearer.batches.create({ model: 'gemini-2.5-flash', src, config: { dest: `gs://${BUCKET}/out-bearer`, displayName: 'bearer' } });
    const done = await until(bearer, created.name!, ['JOB_STATE_SUCCEEDED']);
    expect(done.outputInfo?.gcsOutputDirectory).toMatch(/^gs:\/\/anybatch-sandbox\/out-bearer\/prediction-model-/);
    expect((await predictions(sandbox, done)).map((p) => p.id).sort()).toEqual(['row-0', 'row-1']);
    const v1 = keyClient(sandbox, { apiVersion: 'v1' });
    expect((await v1.batches.get({ name: created.name! })).state).toBe('JOB_STATE_SUCCEEDED');
  });

  test('a line with sandbox_error and a line the model refuses fail alone: a status text, no response, counted in failedCount', async () => {
    const lines = [geminiLine(0), geminiLine(1, { sandbox_error: 429 }), { id: 'row-2', request: { contents: [] } }, geminiLine(3)];
    const src = await putInput(sandbox, 'in/failing-lines.jsonl', lines);
    const created = await ai.batches.create({ model: 'gemini-2.5-flash', src, config: { dest: `gs://${BUCKET}/out-failing/`, displayName: 'failing lines' } });
    const done = await until(ai, created.name!, ['JOB_STATE_SUCCEEDED']);
    expect(done.completionStats).toEqual({ successfulCount: '2', failedCount: '2' });
    const byId = new Map((await predictions(sandbox, done)).map((p) => [p.id, p]));
    const rateLimited = byId.get('row-1')!;
    expect(rateLimited.response).toBeUndefined();
    expect(rateLimited.status).toMatch(/^Too Many Requests: /);
    expect(JSON.parse(rateLimited.status.slice('Too Many Requests: '.length))).toEqual({
      error: { code: 429, message: 'Sandbox error requested by the batch request (sandbox_error=429).', status: 'RESOURCE_EXHAUSTED' },
    });
    expect(byId.get('row-2')!.status).toMatch(/^Bad Request: .*contents is not specified/);
    expect(byId.get('row-0')!.response).toBeDefined();
  });

  test('list pages newest first with pageSize and nextPageToken, only the location asked', async () => {
    const eu = keyClient(sandbox, { location: 'europe-west4' });
    const src = await putInput(sandbox, 'in/list.jsonl', [geminiLine(0)]);
    const names: string[] = [];
    for (let i = 0; i < 5; i++) names.push((await eu.batches.create({ model: 'gemini-2.5-flash', src, config: { dest: `gs://${BUCKET}/out-list/`, displayName: `listed ${i}` } })).name!);
    const pager = await eu.batches.list({ config: { pageSize: 2 } });
    expect(pager.page).toHaveLength(2);
    const seen: string[] = [];
    for await (const job of pager) seen.push(job.name!);
    expect(seen).toEqual([...names].reverse());
    expect(seen.every((n) => n.startsWith(`projects/${PROJECT}/locations/europe-west4/`))).toBe(true);
    const usCentral = await ai.batches.list({ config: { pageSize: 100 } });
    expect(usCentral.page.some((job) => names.includes(job.name!))).toBe(false);
  });

  test('labels from the create are kept; list filters on them and on state', async () => {
    const src = await putInput(sandbox, 'in/labels.jsonl', [geminiLine(0)]);
    const body = {
      displayName: 'labelled',
      model: 'publishers/google/models/gemini-2.5-flash',
      inputConfig: { instancesFormat: 'jsonl', gcsSource: { uris: [src] } },
      outputConfig: { predictionsFormat: 'jsonl', gcsDestination: { outputUriPrefix: `gs://${BUCKET}/out-labels/` } },
      labels: { team: 'batch', run: 'r-42' },
    };
    const made = await raw(sandbox, 'batchPredictionJobs', { method: 'POST', body: JSON.stringify(body) });
    expect(made.status).toBe(200);
    expect(made.body.labels).toEqual({ team: 'batch', run: 'r-42' });
    const id = NAME.exec(made.body.name)![1];
    await until(ai, id, ['JOB_STATE_SUCCEEDED']);
    const filtered = await raw(sandbox, `batchPredictionJobs?filter=${encodeURIComponent('labels.run="r-42" AND state=JOB_STATE_SUCCEEDED')}`);
    expect(filtered.body.batchPredictionJobs.map((j: { name: string }) => j.name)).toEqual([made.body.name]);
    const none = await raw(sandbox, `batchPredictionJobs?filter=${encodeURIComponent('labels.run=other')}`);
    expect(none).toEqual({ status: 200, body: {} });
    expect((await raw(sandbox, `batchPredictionJobs?filter=${encodeURIComponent('create_time>"2020"')}`)).status).toBe(400);
  });

  test('ids are 19 digits: get takes the bare id or the full name; other ids are refused or not found', async () => {
    const src = await putInput(sandbox, 'in/ids.jsonl', [geminiLine(0)]);
    const created = await ai.batches.create({ model: 'gemini-2.5-flash', src, config: { dest: `gs://${BUCKET}/out-ids/`, displayName: 'ids' } });
    const id = NAME.exec(created.name!)![1];
    expect(id).toMatch(/^[1-9]\d{18}$/);
    expect((await ai.batches.get({ name: id })).name).toBe(created.name);
    expect((await ai.batches.get({ name: created.name! })).name).toBe(created.name);
    await expect(ai.batches.get({ name: 'batches/abc' })).rejects.toThrow(/Invalid batch job name/);
    const unknown = await ai.batches.get({ name: '1000000000000000000' }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(ApiError);
    expect(JSON.parse((unknown as ApiError).message)).toEqual({
      error: { code: 404, message: `The BatchPredictionJob projects/${PROJECT}/locations/${LOCATION}/batchPredictionJobs/1000000000000000000 does not exist.`, status: 'NOT_FOUND' },
    });
    expect(await raw(sandbox, 'batchPredictionJobs/not-a-number')).toMatchObject({ status: 400, body: { error: { status: 'INVALID_ARGUMENT' } } });
  });

  test('Claude on Vertex: Anthropic lines answered with Messages in response; a wrong anthropic_version fails its line', async () => {
    const claudeLine = (id: string, version = 'vertex-2023-10-16') => ({
      custom_id: id,
      request: { messages: [{ role: 'user', content: `Hello from ${id}` }], anthropic_version: version, max_tokens: 100 },
    });
    const src = await putInput(sandbox, 'in/claude.jsonl', [claudeLine('c-0'), claudeLine('c-1'), claudeLine('c-2', 'bedrock-2023-05-31')]);
    const created = await ai.batches.create({ model: 'anthropic/claude-sonnet-4@20250514', src, config: { dest: `gs://${BUCKET}/out-claude/`, displayName: 'claude' } });
    expect(created.model).toBe('publishers/anthropic/models/claude-sonnet-4@20250514');
    const done = await until(ai, created.name!, ['JOB_STATE_SUCCEEDED']);
    expect(done.completionStats).toEqual({ successfulCount: '2', failedCount: '1' });
    const byId = new Map((await predictions(sandbox, done)).map((p) => [p.custom_id, p]));
    expect(byId.get('c-1')!.response).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4@20250514',
      content: [{ type: 'text', text: 'Sandbox reply to: Hello from c-1' }],
      stop_reason: 'end_turn',
    });
    expect(byId.get('c-2')!.status).toMatch(/^Bad Request: .*anthropic_version/);
  });

  test("delete: an ended job answers a done operation and is gone; a running one can't be deleted", async () => {
    const src = await putInput(sandbox, 'in/delete.jsonl', Array.from({ length: 3 }, (_, i) => geminiLine(i)));
    const created = await ai.batches.create({ model: 'gemini-2.5-flash', src, config: { dest: `gs://${BUCKET}/out-delete/`, displayName: 'deleted' } });
    const running = await raw(sandbox, `batchPredictionJobs/${NAME.exec(created.name!)![1]}`, { method: 'DELETE' });
    expect(running).toMatchObject({ status: 400, body: { error: { code: 400, status: 'FAILED_PRECONDITION' } } });
    const done = await until(ai, created.name!, ['JOB_STATE_SUCCEEDED']);
    const deleted = await ai.batches.delete({ name: created.name! });
    expect(deleted.name).toMatch(/^projects\/anybatch-test\/locations\/us-central1\/operations\/\d{19}$/);
    expect(deleted.done).toBe(true);
    await expect(ai.batches.get({ name: created.name! })).rejects.toMatchObject({ status: 404 });
    expect(await predictions(sandbox, done)).toHaveLength(3); // "Any files already outputted by the job are not deleted."
  });

  test('an unknown model (the models fault) is a 404 NOT_FOUND naming the publisher model', async () => {
    sandbox.setFaults({ models: ['gemini-2.5-flash'] });
    const src = await putInput(sandbox, 'in/unknown-model.jsonl', [geminiLine(0)]);
    const before = sandbox.stats().providers.vertexai.batchesCreated;
    const err = await ai.batches.create({ model: 'gemini-9-ultra', src, config: { dest: `gs://${BUCKET}/out-x/`, displayName: 'x' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(404);
    expect(JSON.parse((err as ApiError).message)).toEqual({
      error: { code: 404, message: `Publisher Model \`projects/${PROJECT}/locations/${LOCATION}/publishers/google/models/gemini-9-ultra\` not found.`, status: 'NOT_FOUND' },
    });
    expect(sandbox.stats().providers.vertexai.batchesCreated).toBe(before);
    await expect(ai.batches.create({ model: 'gemini-2.5-flash', src, config: { dest: `gs://${BUCKET}/out-x/`, displayName: 'x' } })).resolves.toMatchObject({ state: 'JOB_STATE_PENDING' });
  });

  test('a create whose answer is lost (loseCreateResponses) still made its job; lostCreateStatus answers that 5xx in Google shape', async () => {
    const src = await putInput(sandbox, 'in/lost.jsonl', [geminiLine(0)]);
    const listed = async () => (await raw(sandbox, 'batchPredictionJobs?pageSize=1000')).body.batchPredictionJobs as Array<{ displayName: string }>;
    sandbox.setFaults({ loseCreateResponses: 1 });
    await expect(ai.batches.create({ model: 'gemini-2.5-flash', src, config: { dest: `gs://${BUCKET}/out-lost/`, displayName: 'lost once' } })).rejects.toThrow();
    expect((await listed()).filter((j) => j.displayName === 'lost once')).toHaveLength(1);
    sandbox.setFaults({ loseCreateResponses: 1, lostCreateStatus: 503 });
    const err = await ai.batches.create({ model: 'gemini-2.5-flash', src, config: { dest: `gs://${BUCKET}/out-lost/`, displayName: 'lost as 503' } }).catch((e: unknown) => e);
    expect(JSON.parse((err as ApiError).message)).toMatchObject({ error: { code: 503, status: 'UNAVAILABLE' } });
    expect((await listed()).filter((j) => j.displayName === 'lost as 503')).toHaveLength(1);
    expect(sandbox.stats().faults.lostCreates).toBeGreaterThanOrEqual(2);
  });

  test('injected faults answer in Google shape (429 with retry-after, RESOURCE_EXHAUSTED)', async () => {
    sandbox.setFaults({ forceStatus: 429, retryAfterSeconds: 7 });
    const res = await fetch(`${sandbox.url}/vertexai/v1beta1/projects/${PROJECT}/locations/${LOCATION}/batchPredictionJobs`, { headers: { 'x-goog-api-key': 'k' } });
    expect([res.status, res.headers.get('retry-after')]).toEqual([429, '7']);
    expect(await res.json()).toMatchObject({ error: { code: 429, status: 'RESOURCE_EXHAUSTED' } });
  });

  test('a request with no credential is a 401 UNAUTHENTICATED', async () => {
    const res = await fetch(`${sandbox.url}/vertexai/v1/projects/${PROJECT}/locations/${LOCATION}/batchPredictionJobs`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: 401, status: 'UNAUTHENTICATED' } });
  });

  test('stats: jobs created, cancels, and jobs by Vertex state', async () => {
    const stats = sandbox.stats().providers.vertexai;
    expect(stats.batchesCreated).toBeGreaterThanOrEqual(10);
    expect(stats.filesCreated).toBe(0);
    expect(Object.keys(stats.batchesByStatus).every((s) => s.startsWith('JOB_STATE_'))).toBe(true);
    expect(stats.batchesByStatus.JOB_STATE_SUCCEEDED).toBeGreaterThan(0);
    expect(sandbox.stats().batchesByStatus['vertexai:JOB_STATE_SUCCEEDED']).toBe(stats.batchesByStatus.JOB_STATE_SUCCEEDED);
  });
});

describe('an API key set on the sandbox', () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    sandbox = await startSandbox({ apiKey: 'the-only-key', validationMs: 10 });
  });

  afterAll(async () => {
    await sandbox.close();
  });

  test('must be the key sent; a bearer token is still accepted', async () => {
    const wrong = await keyClient(sandbox).batches.list().catch((e: unknown) => e);
    expect(JSON.parse((wrong as ApiError).message)).toEqual({ error: { code: 400, message: 'API key not valid. Please pass a valid API key.', status: 'INVALID_ARGUMENT' } });
    const right = new GoogleGenAI({ vertexai: true, project: PROJECT, location: LOCATION, apiKey: 'the-only-key', httpOptions: { baseUrl: `${sandbox.url}/vertexai/`, fetch: nodeFetch } });
    await expect(right.batches.list()).resolves.toBeDefined();
    await expect(bearerClient(sandbox).batches.list()).resolves.toBeDefined();
  });
});

describe('on a hand-moved clock', () => {
  let sandbox: Sandbox;
  let ai: GoogleGenAI;
  let clock = Date.UTC(2026, 11, 1, 12, 0, 0);
  const RATE = 50;
  const VALIDATION_MS = 1000;
  const CANCELLING_MS = 400;

  beforeAll(async () => {
    sandbox = await startSandbox({ rate: RATE, validationMs: VALIDATION_MS, cancellingMs: CANCELLING_MS, now: () => clock });
    ai = keyClient(sandbox);
  });

  afterAll(async () => {
    await sandbox.close();
  });

  afterEach(() => sandbox.setFaults({}));

  async function create(name: string, lines: Line[], displayName: string): Promise<BatchJob> {
    const src = await putInput(sandbox, name, lines);
    return ai.batches.create({ model: 'gemini-2.5-flash', src, config: { dest: `gs://${BUCKET}/clock/${displayName}/`, displayName } });
  }

  const get = (job: BatchJob) => ai.batches.get({ name: job.name! });

  test('pending through validation, running at the rate, succeeded when the last line ran', async () => {
    const job = await create('clock/steady.jsonl', Array.from({ length: 100 }, (_, i) => geminiLine(i)), 'steady');
    clock += VALIDATION_MS - 1;
    expect(await get(job)).toMatchObject({ state: 'JOB_STATE_PENDING' });
    expect((await get(job)).completionStats).toBeUndefined();
    clock += 1 + 1000; // 50 lines at 50 a second
    const running = await get(job);
    expect(running).toMatchObject({ state: 'JOB_STATE_RUNNING', completionStats: { successfulCount: '50', incompleteCount: '50' } });
    expect(running.startTime).toBe(new Date(Date.parse(job.createTime!) + VALIDATION_MS).toISOString());
    clock += 1000;
    const done = await get(job);
    expect(done).toMatchObject({ state: 'JOB_STATE_SUCCEEDED', completionStats: { successfulCount: '100' } });
    expect(done.endTime).toBe(new Date(Date.parse(job.createTime!) + VALIDATION_MS + 2000).toISOString());
  });

  test('cancel: cancelling for the cancelling time, then cancelled; the lines answered by then are written, the rest incomplete', async () => {
    const job = await create('clock/cancel.jsonl', Array.from({ length: 100 }, (_, i) => geminiLine(i)), 'cancelled');
    clock += VALIDATION_MS + 500; // 25 lines answered
    const cancelsBefore = sandbox.stats().providers.vertexai.batchCancels;
    await ai.batches.cancel({ name: job.name! });
    await ai.batches.cancel({ name: job.name! }); // a second cancel changes nothing
    expect(sandbox.stats().providers.vertexai.batchCancels).toBe(cancelsBefore + 1);
    clock += CANCELLING_MS - 1;
    expect(await get(job)).toMatchObject({ state: 'JOB_STATE_CANCELLING' });
    clock += 1;
    const cancelled = await get(job);
    expect(cancelled).toMatchObject({ state: 'JOB_STATE_CANCELLED', completionStats: { successfulCount: '25', incompleteCount: '75' } });
    const out = await predictions(sandbox, cancelled);
    expect(out.map((p) => p.id).sort()).toEqual(Array.from({ length: 25 }, (_, i) => `row-${i}`).sort());
    const again = await ai.batches.cancel({ name: job.name! }).catch((e: unknown) => e);
    expect(JSON.parse((again as ApiError).message)).toMatchObject({ error: { code: 400, status: 'FAILED_PRECONDITION' } });
  });

  test('a cancel before any line ran leaves no output directory', async () => {
    const job = await create('clock/early-cancel.jsonl', [geminiLine(0)], 'early-cancel');
    await ai.batches.cancel({ name: job.name! });
    clock += CANCELLING_MS;
    const cancelled = await get(job);
    expect(cancelled.state).toBe('JOB_STATE_CANCELLED');
    expect(cancelled.outputInfo).toBeUndefined();
    expect(cancelled.completionStats).toEqual({ incompleteCount: '1' });
  });

  test('expiry (expireAfterSeconds): a job still running at its expiry is expired, with the lines answered by then', async () => {
    sandbox.setFaults({ expireAfterSeconds: 2 });
    const job = await create('clock/expire.jsonl', Array.from({ length: 1000 }, (_, i) => geminiLine(i)), 'expired');
    clock += 5000;
    const expired = await get(job);
    expect(expired).toMatchObject({ state: 'JOB_STATE_EXPIRED', completionStats: { successfulCount: '50', incompleteCount: '950' } });
    expect(expired.endTime).toBe(new Date(Date.parse(job.createTime!) + 2000).toISOString());
    expect(await predictions(sandbox, expired)).toHaveLength(50);
  });

  test('a missing input object: the create succeeds, the job fails after validation with code 3 naming the URI', async () => {
    const job = await ai.batches.create({ model: 'gemini-2.5-flash', src: `gs://${BUCKET}/clock/missing.jsonl`, config: { dest: `gs://${BUCKET}/clock/missing/`, displayName: 'missing' } });
    expect(job.state).toBe('JOB_STATE_PENDING');
    clock += VALIDATION_MS;
    const failed = await get(job);
    expect(failed.state).toBe('JOB_STATE_FAILED');
    expect(failed.error).toEqual({ code: 3, message: `Failed to import data. Not found: the input file gs://${BUCKET}/clock/missing.jsonl does not exist.` });
    expect(failed.completionStats).toEqual({ incompleteCount: '-1' });
    expect(failed.outputInfo).toBeUndefined();
  });

  test('an input line that is not JSON fails the job; failValidation fails every new job', async () => {
    const src = await putInput(sandbox, 'clock/garbled.jsonl', [geminiLine(0)]);
    await fetch(`${sandbox.baseUrls.gcs}/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=clock/garbled.jsonl`, { method: 'POST', headers: { authorization: 'Bearer t' }, body: '{"request": {}}\nnot json\n' });
    const garbled = await ai.batches.create({ model: 'gemini-2.5-flash', src, config: { dest: `gs://${BUCKET}/clock/garbled/`, displayName: 'garbled' } });
    sandbox.setFaults({ failValidation: true });
    const refused = await create('clock/fine.jsonl', [geminiLine(0)], 'fail-validation');
    clock += VALIDATION_MS;
    expect((await get(garbled)).error).toEqual({ code: 3, message: `Failed to import data. Line 2 of ${src} is not a JSON object.` });
    expect(await get(refused)).toMatchObject({ state: 'JOB_STATE_FAILED', error: { code: 3 } });
  });

  test('requestFaultRate fails lines with INTERNAL, seeded, counted in failedCount', async () => {
    sandbox.setFaults({ requestFaultRate: 0.5, seed: 11 });
    const job = await create('clock/faulted.jsonl', Array.from({ length: 40 }, (_, i) => geminiLine(i)), 'faulted');
    clock += VALIDATION_MS + 1000;
    const done = await get(job);
    const failed = Number(done.completionStats?.failedCount ?? '0');
    expect(failed).toBeGreaterThan(5);
    expect(failed).toBeLessThan(35);
    const out = await predictions(sandbox, done);
    const statuses = out.filter((p) => p.status !== '');
    expect(statuses).toHaveLength(failed);
    expect(statuses.every((p) => p.status.startsWith('Internal Server Error: ') && p.status.includes('"status":"INTERNAL"'))).toBe(true);
  });
});
