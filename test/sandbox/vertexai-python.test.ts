/**
 * The vertexai and gcs modules driven by the official Python client google-genai 3.6.1, unchanged (pinned in
 * scripts/setup.js, run by test/support/python.ts; a missing client fails, never skips). `genai.Client(vertexai=True,
 * project, location, api_key=... | credentials=..., http_options=HttpOptions(base_url=<url>/vertexai))` keeps the
 * base URL's path and adds `v1beta1/projects/{p}/locations/{l}/batchPredictionJobs` (`_api_client.py`
 * `_build_request`: the project path is prepended whenever project and location are set, and `join_url_path` keeps
 * the base path). The input is uploaded with fetch; the script reads `predictions.jsonl` over the Cloud Storage JSON
 * API with plain urllib (google-cloud-storage, pinned too, drives the gcs module in gcs-python.test.ts, this same
 * round trip included).
 */
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { lastJson, runPython } from '../support/python';

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox({ rate: 1000, validationMs: 30, cancellingMs: 30 });
});

afterAll(async () => {
  await sandbox?.close();
});

async function putInput(name: string, ids: string[]): Promise<string> {
  const body = ids.map((id) => JSON.stringify({ id, request: { contents: [{ role: 'user', parts: [{ text: `Say hello to ${id}` }] }] } })).join('\n') + '\n';
  const res = await fetch(`${sandbox.baseUrls.gcs}/upload/storage/v1/b/anybatch-sandbox/o?uploadType=media&name=${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { authorization: 'Bearer t', 'content-type': 'application/jsonl' },
    body,
  });
  expect(res.status).toBe(200);
  return `gs://anybatch-sandbox/${name}`;
}

const SCRIPT = `
import datetime, json, os, re, time, urllib.parse, urllib.request
from google import genai
from google.genai import types

options = types.HttpOptions(base_url=os.environ["VERTEX_BASE"])
if os.environ["AUTH"] == "key":
    client = genai.Client(vertexai=True, project="anybatch-test", location="us-central1", api_key="python-key", http_options=options)
else:
    import google.oauth2.credentials
    credentials = google.oauth2.credentials.Credentials(token="fake-token", expiry=datetime.datetime(2100, 1, 1))
    client = genai.Client(vertexai=True, project="anybatch-test", location="us-central1", credentials=credentials, http_options=options)

job = client.batches.create(model="gemini-2.5-flash", src=os.environ["SRC"],
                            config=types.CreateBatchJobConfig(dest=os.environ["DEST"], display_name="from python"))
created = {"name": job.name, "state": job.state.name}
deadline = time.time() + 30
while not job.done:
    if time.time() > deadline:
        raise SystemExit("job still " + job.state.name)
    time.sleep(0.05)
    job = client.batches.get(name=job.name)

bucket, directory = re.match(r"gs://([^/]+)/(.+)$", job.output_info.gcs_output_directory).groups()
url = "%s/storage/v1/b/%s/o/%s?alt=media" % (os.environ["GCS_BASE"], bucket, urllib.parse.quote(directory + "/predictions.jsonl", safe=""))
request = urllib.request.Request(url, headers={"Authorization": "Bearer any-token"})
with urllib.request.urlopen(request) as response:
    lines = [json.loads(line) for line in response.read().decode("utf-8").splitlines() if line]
print(json.dumps({"created": created, "state": job.state.name, "successful": job.completion_stats.successful_count,
                  "directory": job.output_info.gcs_output_directory, "lines": lines}))
`;

interface PythonResult {
  created: { name: string; state: string };
  state: string;
  successful: number;
  directory: string;
  lines: Array<{ id: string; status: string; response: { candidates: Array<{ content: { parts: Array<{ text: string }> } }> } }>;
}

describe('google-genai (Python) in Vertex mode against <url>/vertexai', () => {
  test.each([
    ['key', 'an API key (x-goog-api-key)'],
    ['bearer', 'google.oauth2 Credentials (a bearer token)'],
  ])('with %s (%s): create from gs://, poll to JOB_STATE_SUCCEEDED, predictions.jsonl read over the JSON API', async (auth) => {
    const ids = Array.from({ length: 6 }, (_, i) => `${auth}-${i}`);
    const src = await putInput(`python/${auth}.jsonl`, ids);
    const before = sandbox.stats().providers.vertexai.batchesCreated;
    const run = await runPython(SCRIPT, {
      modules: ['google.genai'],
      env: { AUTH: auth, VERTEX_BASE: `${sandbox.url}/vertexai`, GCS_BASE: sandbox.baseUrls.gcs, SRC: src, DEST: `gs://anybatch-sandbox/python-out/${auth}/` },
    });
    const result = lastJson<PythonResult>(run.stdout);
    expect(result.created.name).toMatch(/^projects\/anybatch-test\/locations\/us-central1\/batchPredictionJobs\/\d{19}$/);
    expect(result.created.state).toBe('JOB_STATE_PENDING');
    expect(sandbox.stats().providers.vertexai.batchesCreated).toBe(before + 1);
    expect([result.state, result.successful]).toEqual(['JOB_STATE_SUCCEEDED', 6]);
    expect(result.directory).toMatch(new RegExp(`^gs://anybatch-sandbox/python-out/${auth}/prediction-model-`));
    expect(result.lines.map((l) => l.id).sort()).toEqual(ids);
    const first = result.lines.find((l) => l.id === `${auth}-0`)!;
    expect([first.status, first.response.candidates[0].content.parts[0].text]).toEqual(['', `Sandbox reply to: Say hello to ${auth}-0`]);
  });
});
