/**
 * Results already paid for are never thrown away: an unreadable provider result line (not JSON, or longer than the
 * provider's `maxResultLineBytes`) costs its own request only. The adapters' readResults against a loopback stand-in
 * (OpenAI's file download, Anthropic's results_url, Gemini's, Mistral's and Together's results files) and on
 * openai-compatible's checkpoint chunks, through the writer, with every custom_id accounted for once.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import type { Batch } from '../../src/contract/batch';
import { AnthropicAdapter } from '../../src/providers/anthropic/adapter';
import { ANTHROPIC_LIMITS } from '../../src/providers/anthropic/limits';
import { providerInfo } from '../../src/providers/definition';
import { GeminiAdapter } from '../../src/providers/gemini/adapter';
import { GEMINI_LIMITS } from '../../src/providers/gemini/limits';
import { MistralAdapter } from '../../src/providers/mistral/adapter';
import { MISTRAL_LIMITS } from '../../src/providers/mistral/limits';
import { openAICompatible } from '../../src/providers/openai/compatible';
import { OPENAI_LIMITS } from '../../src/providers/openai/limits';
import { OnlineAdapter } from '../../src/providers/openai-compatible/adapter';
import { OPENAI_COMPATIBLE_LIMITS } from '../../src/providers/openai-compatible/limits';
import { REGISTRY } from '../../src/providers/registry';
import { TogetherAdapter } from '../../src/providers/together/adapter';
import { TOGETHER_LIMITS } from '../../src/providers/together/limits';
import { ProviderError, type ProviderInput, type ResultLine } from '../../src/providers/types';
import { MALFORMED_RESULT } from '../../src/results/malformed';
import { missingOutcome, writePartResults } from '../../src/results/writer';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-malformed-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const BOUND = 300;

const ok = (id: string) => JSON.stringify({ id: `batch_req_${id}`, custom_id: id, response: { status_code: 200, request_id: `req_${id}`, body: { object: 'chat.completion', choices: [] } }, error: null });
const refused = (id: string) => JSON.stringify({ id: `batch_req_${id}`, custom_id: id, response: { status_code: 400, request_id: `req_${id}`, body: { error: { message: 'bad' } } }, error: null });
const cut = (id: string) => `{"id":"batch_req_${id}","custom_id":"${id}","response":{"status_code":200,"body":{"obj`;
const huge = (id: string) => JSON.stringify({ id: `batch_req_${id}`, custom_id: id, response: { status_code: 200, request_id: 'r', body: { text: 'x'.repeat(2 * BOUND) } }, error: null });

/** Routes of a loopback stand-in: a path -> the body (a string), or a handler. */
type Route = string | ((res: http.ServerResponse) => void);

async function standIn(routes: (url: string) => Record<string, Route>): Promise<{ url: string; close(): Promise<void> }> {
  let table: Record<string, Route> = {};
  const server = http.createServer((req, res) => {
    req.resume();
    const route = table[req.url!.split('?')[0]];
    if (route === undefined) {
      res.statusCode = 404;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ error: { message: `no route ${req.url}` } }));
    } else if (typeof route === 'string') {
      res.setHeader('content-type', /(\/content|\/results|:download)$/.test(req.url!.split('?')[0]) ? 'application/octet-stream' : 'application/json');
      res.end(route);
    } else {
      route(res);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  table = routes(url);
  return { url, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function input(workDir = dir): ProviderInput {
  return { path: path.join(dir, 'part.jsonl'), requestCount: 0, bytes: 0, idempotencyKey: 'ab/0', notBefore: 0, endpoint: '/v1/chat/completions', options: {}, workDir };
}

function batchOf(fields: Partial<Batch>): Batch {
  return { id: 'batch_1', object: 'batch', endpoint: '/v1/chat/completions', input_file_id: 'file_in', completion_window: '24h', status: 'completed', created_at: 1_700_000_000, ...fields };
}

async function write(ids: string[], lines: AsyncIterable<ResultLine>, batch: Batch) {
  const warnings: string[] = [];
  const part = await writePartResults({
    batchId: 'ab',
    resultsDir: dir,
    part: { index: 0, path: path.join(dir, 'part.jsonl'), requestCount: ids.length, bytes: 0 },
    ids: (async function* () {
      yield* ids;
    })(),
    lines,
    outcome: missingOutcome(batch),
    warn: (m) => warnings.push(m),
  });
  const read = (file: string) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as ResultLine);
  return { output: read(part.outputPath), errors: read(part.errorsPath), warnings };
}

/** The OpenAI adapter with a small result line bound, as a provider's limits would set it. */
const smallOpenAI = () =>
  openAICompatible({
    name: 'openai',
    label: 'OpenAI',
    keyEnv: 'OPENAI_API_KEY',
    baseEnv: 'OPENAI_BASE_URL',
    defaultBaseURL: 'https://api.openai.com/v1',
    limits: { ...OPENAI_LIMITS, maxResultLineBytes: BOUND },
    client: (options) => new OpenAI(options),
  }).createAdapter();

describe('OpenAI-format results (OpenAI, Azure, Groq)', () => {
  test('unreadable lines cost their own request only; every custom_id is accounted for exactly once', async () => {
    const output = [
      ok('a'),
      cut('b'),
      huge('c'),
      '%%% no id here %%%',
      ok('e'),
      cut('a'), // names a request whose result already came: ignored
      cut('f'), // names a request whose result comes later: the result wins
      ok('f'),
      '',
    ].join('\n');
    const server = await standIn(() => ({ '/v1/files/file-out/content': output, '/v1/files/file-err/content': refused('g') + '\n' }));
    try {
      const batch = batchOf({ output_file_id: 'file-out', error_file_id: 'file-err' });
      const lines = smallOpenAI().readResults({ apiKey: 'k', apiBase: `${server.url}/v1` }, batch, input());
      const { output: out, errors, warnings } = await write(['a', 'b', 'c', 'd', 'e', 'f', 'g'], lines, batch);
      expect(out.map((l) => l.custom_id)).toEqual(['a', 'e', 'f']);
      expect(errors.map((l) => [l.custom_id, l.error?.code ?? l.response?.status_code])).toEqual([
        ['g', 400],
        ['b', MALFORMED_RESULT],
        ['c', MALFORMED_RESULT],
        ['d', 'missing_result'],
      ]);
      const [b, c] = [errors[1], errors[2]];
      expect(b.error!.message).toMatch(/^OpenAI result file file-out, line 2 is not valid JSON \(it starts "/);
      expect(c.error!.message).toContain(`OpenAI result file file-out, line 3 is longer than the ${BOUND}-byte bound (${huge('c').length} bytes read)`);
      expect(c.error!.message).not.toContain('x'.repeat(50));
      expect(warnings).toContain(`4 result line(s) of part 0 could not be read (${MALFORMED_RESULT})`);
    } finally {
      await server.close();
    }
  });

  test('a download cut off mid-body is still a transient failure (retried, nothing written short)', async () => {
    const body = `${ok('a')}\n${cut('b')}`;
    const server = await standIn(() => ({
      '/v1/files/file-out/content': (res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length + 500) });
        res.write(body, () => res.socket?.destroy());
      },
    }));
    try {
      const lines = smallOpenAI().readResults({ apiKey: 'k', apiBase: `${server.url}/v1` }, batchOf({ output_file_id: 'file-out' }), input());
      const err = await write(['a', 'b'], lines, batchOf({})).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).kind).toBe('transient');
      expect(fs.readdirSync(path.join(dir, '.parts'))).toEqual([]);
    } finally {
      await server.close();
    }
  });
});

describe('Anthropic results (downloaded from results_url, ids mapped back)', () => {
  const message = (id: string) => ({
    id: `msg_${id}`,
    type: 'message',
    role: 'assistant',
    model: 'claude-x',
    content: [{ type: 'text', text: 'hi' }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 3, output_tokens: 1 },
  });

  test('an unreadable line is an error line for its original custom_id; the rest are read', async () => {
    const results = [
      JSON.stringify({ custom_id: 'safe_1', result: { type: 'succeeded', message: message('1') } }),
      '{"custom_id":"safe_2","result":{"type":"succee',
      JSON.stringify({ custom_id: 'c', result: { type: 'succeeded', message: { ...message('c'), content: [{ type: 'text', text: 'y'.repeat(2 * BOUND) }] } } }),
      JSON.stringify({ custom_id: 'd', result: { type: 'expired' } }),
    ].join('\n');
    const server = await standIn((url) => ({
      '/v1/messages/batches/msgbatch_1': JSON.stringify({
        id: 'msgbatch_1',
        type: 'message_batch',
        processing_status: 'ended',
        request_counts: { processing: 0, succeeded: 3, errored: 0, canceled: 0, expired: 1 },
        created_at: '2026-01-01T00:00:00Z',
        ended_at: '2026-01-01T00:10:00Z',
        expires_at: '2026-01-02T00:00:00Z',
        archived_at: null,
        cancel_initiated_at: null,
        results_url: `${url}/v1/messages/batches/msgbatch_1/results`,
      }),
      '/v1/messages/batches/msgbatch_1/results': results,
    }));
    try {
      fs.writeFileSync(path.join(dir, 'custom-ids.json'), JSON.stringify({ safe_1: 'original one', safe_2: 'original two' }));
      const adapter = new AnthropicAdapter({ ...ANTHROPIC_LIMITS, maxResultLineBytes: BOUND }, providerInfo(REGISTRY.anthropic));
      const batch = batchOf({ id: 'msgbatch_1' });
      const lines = adapter.readResults({ apiKey: 'k', apiBase: server.url }, batch, input());
      const { output, errors } = await write(['original one', 'original two', 'c', 'd', 'e'], lines, batch);
      expect(output.map((l) => l.custom_id)).toEqual(['original one']);
      expect((output[0].response!.body as { object: string }).object).toBe('chat.completion');
      expect(errors.map((l) => [l.custom_id, l.error?.code])).toEqual([
        ['d', 'batch_expired'],
        ['original two', MALFORMED_RESULT],
        ['c', MALFORMED_RESULT],
        ['e', 'missing_result'],
      ]);
      expect(errors[1].error!.message).toMatch(/^Anthropic result results of msgbatch_1, line 2 is not valid JSON/);
    } finally {
      await server.close();
    }
  });
});

describe('Gemini results file (lines keyed by `key`)', () => {
  test('an unreadable line is an error line for the key its first bytes name; the rest are read', async () => {
    const response = (text: string) => ({ responseId: 'r', candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP' }] });
    const results = [
      JSON.stringify({ key: 'a', response: response('hi') }),
      '{"key":"b","response":{"candidates":[{"content"',
      JSON.stringify({ key: 'c', response: response('z'.repeat(2 * BOUND)) }),
      '["not", "an", "object"]',
      JSON.stringify({ key: 'e', error: { code: 3, message: 'bad request', status: 'INVALID_ARGUMENT' } }),
    ].join('\n');
    const server = await standIn(() => ({
      '/v1beta/batches/b1': JSON.stringify({ name: 'batches/b1', done: true, metadata: { state: 'BATCH_STATE_SUCCEEDED', model: 'models/gemini-x', output: { responsesFile: 'files/out1' } } }),
      '/v1beta/files/out1:download': results,
    }));
    try {
      const adapter = new GeminiAdapter({ ...GEMINI_LIMITS, maxResultLineBytes: BOUND }, providerInfo(REGISTRY.gemini));
      const batch = batchOf({ id: 'batches/b1' });
      const lines = adapter.readResults({ apiKey: 'k', apiBase: server.url }, batch, input());
      const { output, errors } = await write(['a', 'b', 'c', 'd', 'e'], lines, batch);
      expect(output.map((l) => l.custom_id)).toEqual(['a']);
      expect(errors.map((l) => [l.custom_id, l.error?.code ?? l.response?.status_code])).toEqual([
        ['e', 400],
        ['b', MALFORMED_RESULT],
        ['c', MALFORMED_RESULT],
        ['d', 'missing_result'],
      ]);
      expect(errors[1].error!.message).toMatch(/^Gemini result file files\/out1, line 2 is not valid JSON/);
    } finally {
      await server.close();
    }
  });
});

describe('Mistral and Together results files (OpenAI-like lines, mapped)', () => {
  const lines = [ok('a'), cut('b'), huge('c'), refused('e')].join('\n') + '\n';
  const expectAccounted = async (readResults: AsyncIterable<ResultLine>, label: string) => {
    const { output, errors } = await write(['a', 'b', 'c', 'd', 'e'], readResults, batchOf({}));
    expect(output.map((l) => l.custom_id)).toEqual(['a']);
    expect(errors.map((l) => [l.custom_id, l.error?.code ?? l.response?.status_code])).toEqual([
      ['e', 400],
      ['b', MALFORMED_RESULT],
      ['c', MALFORMED_RESULT],
      ['d', 'missing_result'],
    ]);
    expect(errors[1].error!.message).toMatch(new RegExp(`^${label} result file file-out, line 2 is not valid JSON`));
    expect(errors[2].error!.message).toContain(`line 3 is longer than the ${BOUND}-byte bound`);
  };

  test('Mistral', async () => {
    const file = { id: 'file-out', object: 'file', bytes: Buffer.byteLength(lines), created_at: 1_700_000_000, filename: 'out.jsonl', purpose: 'batch', sample_type: 'batch_result', num_lines: 4, mimetype: null, source: 'mistral', signature: null, expires_at: null, visibility: 'workspace', deleted: false };
    const server = await standIn(() => ({ '/v1/files/file-out': JSON.stringify(file), '/v1/files/file-out/content': lines }));
    try {
      const adapter = new MistralAdapter({ ...MISTRAL_LIMITS, maxResultLineBytes: BOUND }, providerInfo(REGISTRY.mistral));
      await expectAccounted(adapter.readResults({ apiKey: 'k', apiBase: server.url }, batchOf({ output_file_id: 'file-out' }), input()), 'Mistral');
    } finally {
      await server.close();
    }
  });

  test('Together', async () => {
    const server = await standIn(() => ({ '/v1/files/file-out/content': lines }));
    try {
      const adapter = new TogetherAdapter({ ...TOGETHER_LIMITS, maxResultLineBytes: BOUND }, providerInfo(REGISTRY.together));
      await expectAccounted(adapter.readResults({ apiKey: 'k', apiBase: `${server.url}/v1` }, batchOf({ output_file_id: 'file-out' }), input()), 'Together');
    } finally {
      await server.close();
    }
  });
});

describe("openai-compatible's checkpoint chunks", () => {
  test('a damaged chunk line costs its own request only', async () => {
    const chunks = path.join(dir, 'online');
    fs.mkdirSync(chunks);
    const entry = (index: number, line: string) => `{"index":${index},"line":${line}}`;
    fs.writeFileSync(path.join(chunks, 'results-000000.jsonl'), [entry(0, ok('a')), entry(1, cut('b'))].join('\n') + '\n');
    fs.writeFileSync(path.join(chunks, 'results-000001.jsonl'), [entry(2, huge('c')), entry(4, refused('e'))].join('\n') + '\n');
    const adapter = new OnlineAdapter({ ...OPENAI_COMPATIBLE_LIMITS, maxResultLineBytes: BOUND });
    const { output, errors } = await write(['a', 'b', 'c', 'd', 'e'], adapter.readResults({}, batchOf({}), input()), batchOf({}));
    expect(output.map((l) => l.custom_id)).toEqual(['a']);
    expect(errors.map((l) => [l.custom_id, l.error?.code ?? l.response?.status_code])).toEqual([
      ['e', 400],
      ['b', MALFORMED_RESULT],
      ['c', MALFORMED_RESULT],
      ['d', 'missing_result'],
    ]);
    expect(errors[1].error!.message).toContain(`results-000000.jsonl, line 2 is not valid JSON`);
  });
});
