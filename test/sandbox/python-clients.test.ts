/**
 * The sandbox driven by official Python clients, unchanged (pinned in scripts/setup.js, run by
 * test/support/python.ts; missing Python or clients fail these tests, never skip them):
 *
 * - `together` (Together's Python SDK): `files.upload` starts Together's redirect upload with the form fields
 *   (`purpose`, `file_name`, `file_type`, `checksum`) in a multipart body and no file, takes the 302's `Location`
 *   and `X-Together-File-Id`, PUTs the file there, then `POST /v1/files/{id}/preprocess` (together 3.1.1
 *   `lib/resources/files.py` `UploadManager`); then a batch job, polled to COMPLETED, and its output file.
 * - `openai`'s `AzureOpenAI` used as Azure's own documentation shows it on the api-version path
 *   (MicrosoftDocs/azure-ai-docs `articles/ai-foundry/openai/includes/batch/batch-python.md`: lines with
 *   `"url": "/chat/completions"`, `batches.create(endpoint="/chat/completions", completion_window="24h")`),
 *   and with the current guide's `/v1/chat/completions` lines under the same create call: "While passing this
 *   parameter is required, the system will read your input file to determine if the chat completions or responses
 *   API is needed."
 * - `openai`'s `OpenAI` at each OpenAI-compatible batch cloud's base URL (Nebius, DashScope, Moonshot, Cerebras).
 *
 * boto3 and google-genai drive the Bedrock and Vertex AI modules in test/integration/sandbox-bedrock.test.ts and
 * test/sandbox/vertexai-python.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { lastJson, runPython } from '../support/python';
import { tempDir } from './helpers';

let sandbox: Sandbox;
let dir: string;

beforeAll(async () => {
  sandbox = await startSandbox({ rate: 500, validationMs: 30, finalizingMs: 20, cancellingMs: 30 });
  dir = tempDir();
});

afterAll(async () => {
  await sandbox?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function writeLines(name: string, lines: Array<Record<string, unknown>>): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return file;
}

interface PythonBatchResult {
  fileId: string;
  status: string;
  output: Array<{ custom_id: string; response: { status_code: number; body: { choices: Array<{ message: { content: string } }> } } }>;
  [more: string]: unknown;
}

describe('the together Python SDK', () => {
  const MODEL = 'meta-llama/Llama-3.3-70B-Instruct-Turbo';

  test('files.upload (the redirect upload with form fields, the PUT, preprocess), a batch job, its output', async () => {
    const ids = Array.from({ length: 5 }, (_, i) => `py-${i}`);
    const input = writeLines('together-python.jsonl', ids.map((id) => ({ custom_id: id, body: { model: MODEL, messages: [{ role: 'user', content: `Say hello to ${id}` }], max_tokens: 20 } })));
    const before = sandbox.stats().providers.together!.filesCreated;
    const script = `
import json, os, time
from together import Together
client = Together(base_url=os.environ["TOGETHER_SANDBOX"], api_key="together-test-key", max_retries=0)
uploaded = client.files.upload(os.environ["INPUT"], purpose="batch-api", check=False)
created = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h")
job = created.job
deadline = time.time() + 30
while job.status not in ("COMPLETED", "FAILED", "EXPIRED", "CANCELLED"):
    if time.time() > deadline:
        raise SystemExit("job still " + str(job.status))
    time.sleep(0.05)
    job = client.batches.retrieve(job.id)
output = client.files.content(job.output_file_id).read().decode("utf-8")
print(json.dumps({"fileId": uploaded.id, "filename": uploaded.filename, "bytes": uploaded.bytes, "purpose": uploaded.purpose,
                  "status": job.status, "progress": job.progress, "output": [json.loads(l) for l in output.splitlines() if l]}))
`;
    // The Python SDK's base URL has no /v1: its paths carry it (`/v1/files`, `/v1/batches`).
    const run = await runPython(script, { modules: ['together'], env: { TOGETHER_SANDBOX: `${sandbox.url}/together`, INPUT: input } });
    const result = lastJson<PythonBatchResult>(run.stdout);
    expect(result).toMatchObject({ filename: 'together-python.jsonl', bytes: fs.statSync(input).size, purpose: 'batch-api', status: 'COMPLETED', progress: 100 });
    expect(sandbox.stats().providers.together!.filesCreated).toBe(before + 1);
    expect(result.output.map((l) => l.custom_id).sort()).toEqual([...ids].sort());
    const third = result.output.find((l) => l.custom_id === 'py-3')!;
    expect(third.response.status_code).toBe(200);
    expect(third.response.body.choices[0].message.content).toContain('Say hello to py-3');
  });
});

describe("openai's AzureOpenAI (Python), as Azure's documentation uses it", () => {
  const DEPLOYMENT = 'gpt-4o-mini-global-batch';
  const API_VERSION = '2025-03-01-preview';
  const script = `
import json, os, time
from openai import AzureOpenAI
client = AzureOpenAI(azure_endpoint=os.environ["AZURE_SANDBOX"], api_key="az-key", api_version=os.environ["API_VERSION"], max_retries=0)
with open(os.environ["INPUT"], "rb") as f:
    uploaded = client.files.create(file=f, purpose="batch")
batch = client.batches.create(input_file_id=uploaded.id, endpoint="/chat/completions", completion_window="24h")
deadline = time.time() + 30
while batch.status not in ("completed", "failed", "expired", "cancelled"):
    if time.time() > deadline:
        raise SystemExit("batch still " + batch.status)
    time.sleep(0.05)
    batch = client.batches.retrieve(batch.id)
output = client.files.content(batch.output_file_id).text if batch.output_file_id else ""
print(json.dumps({"fileId": uploaded.id, "status": batch.status, "endpoint": batch.endpoint, "errors": batch.errors.model_dump() if batch.errors else None,
                  "counts": batch.request_counts.model_dump() if batch.request_counts else None,
                  "output": [json.loads(l) for l in output.splitlines() if l]}))
`;
  const lines = (url: string, ids: string[]) => ids.map((id) => ({ custom_id: id, method: 'POST', url, body: { model: DEPLOYMENT, messages: [{ role: 'user', content: `Say hello to ${id}` }] } }));

  test.each([
    ['/chat/completions', 'the api-version guide'],
    ['/v1/chat/completions', 'the current guide'],
  ])('lines with "url": "%s" (%s), batches.create(endpoint="/chat/completions"): the batch completes', async (url) => {
    const ids = Array.from({ length: 4 }, (_, i) => `task-${i}`);
    const input = writeLines(`azure-python-${url.replace(/\W/g, '_')}.jsonl`, lines(url, ids));
    const run = await runPython(script, { modules: ['openai'], env: { AZURE_SANDBOX: sandbox.baseUrls.azureopenai, API_VERSION, INPUT: input } });
    const result = lastJson<PythonBatchResult & { endpoint: string; counts: Record<string, number> }>(run.stdout);
    expect(result).toMatchObject({ status: 'completed', endpoint: '/chat/completions', errors: null, counts: { total: 4, completed: 4, failed: 0 } });
    expect(result.output.map((l) => l.custom_id).sort()).toEqual(ids);
    expect(result.output.every((l) => l.response.status_code === 200 && (l.response.body as unknown as { model: string }).model === DEPLOYMENT)).toBe(true);
  });
});

/**
 * The four OpenAI-compatible batch clouds, each driven by the official `openai` Python client pointed at its base URL
 * (as each cloud's documentation shows: `OpenAI(base_url=..., api_key=...)`), through files.create, batches.create,
 * retrieve until completed, and the output file. Cerebras takes no batch under 10 requests, so every batch has 12.
 */
describe("the openai Python client at each OpenAI-compatible batch cloud", () => {
  const script = `
import json, os, time
from openai import OpenAI
client = OpenAI(base_url=os.environ["BASE_URL"], api_key="cloud-key", max_retries=0)
with open(os.environ["INPUT"], "rb") as f:
    uploaded = client.files.create(file=f, purpose="batch")
batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h")
deadline = time.time() + 30
while batch.status not in ("completed", "failed", "expired", "cancelled"):
    if time.time() > deadline:
        raise SystemExit("batch still " + batch.status)
    time.sleep(0.05)
    batch = client.batches.retrieve(batch.id)
output = client.files.content(batch.output_file_id).text if batch.output_file_id else ""
print(json.dumps({"fileId": uploaded.id, "status": batch.status, "counts": batch.request_counts.model_dump() if batch.request_counts else None,
                  "output": [json.loads(l) for l in output.splitlines() if l]}))
`;
  const MODELS = { nebius: 'meta-llama/Meta-Llama-3.1-70B-Instruct', dashscope: 'qwen-plus', moonshot: 'kimi-k2-0905-preview', cerebras: 'llama3.1-8b' } as const;

  test.each(Object.keys(MODELS) as Array<keyof typeof MODELS>)('%s: upload, batch, output', async (cloud) => {
    const ids = Array.from({ length: 12 }, (_, i) => `${cloud}-${i}`);
    const input = writeLines(`${cloud}-python.jsonl`, ids.map((id) => ({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: MODELS[cloud], messages: [{ role: 'user', content: `Say hello to ${id}` }] } })));
    const before = sandbox.stats().providers[cloud]!.batchesCreated;
    const run = await runPython(script, { modules: ['openai'], env: { BASE_URL: sandbox.baseUrls[cloud], INPUT: input } });
    const result = lastJson<PythonBatchResult & { counts: Record<string, number> }>(run.stdout);
    expect(result).toMatchObject({ status: 'completed', counts: { total: 12, completed: 12, failed: 0 } });
    // It reached this cloud's module.
    expect(sandbox.stats().providers[cloud]!.batchesCreated).toBe(before + 1);
    expect(result.output.map((l) => l.custom_id).sort()).toEqual([...ids].sort());
    expect(result.output.find((l) => l.custom_id === `${cloud}-3`)!.response.body.choices[0].message.content).toContain(`Say hello to ${cloud}-3`);
  });
});
