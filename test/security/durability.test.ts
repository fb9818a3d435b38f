/**
 * Issue 17 §3, durable where it says durable (unit: the local folder, no servers). Every fsync the code makes is
 * recorded (the path of each file handle that is synced, and each rename), so each case checks that what must
 * survive a power loss is fsynced, file and folder, before it is relied on:
 * - the merged result files and their folder, before the merge returns (after which the staged inputs are deleted);
 * - the split parts of a staged input (the batch's staged data);
 * - what provider adapters keep in a part's work folder that a later attempt relies on: Anthropic's id map and
 *   requests, the translated requests and model of Together, Mistral and Gemini (Gemini's plan too).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getAdapter } from '../../src/providers';
import type { ProviderConnection, ProviderInput } from '../../src/providers/types';
import { mergeResults, writePartResults } from '../../src/results/writer';
import { splitInput } from '../../src/results/split';
import type { PartPlan } from '../../src/contract/spec';

let tmp: string;
type Event = { op: 'sync' | 'rename'; path: string; to?: string };
let events: Event[];
const restore: Array<() => void> = [];

beforeAll(async () => {
  // Every FileHandle shares one prototype: record the path each handle was opened with, and each sync of one.
  const probe = await fs.promises.open(__filename, 'r');
  const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
  await probe.close();
  const paths = new WeakMap<object, string>();
  const open = fs.promises.open;
  const sync = proto.sync;
  const rename = fs.promises.rename;
  fs.promises.open = (async (...args: Parameters<typeof open>) => {
    const fh = await open(...args);
    paths.set(fh, path.resolve(String(args[0])));
    return fh;
  }) as typeof open;
  proto.sync = async function (this: object) {
    events.push({ op: 'sync', path: paths.get(this) ?? '?' });
    return sync.call(this);
  };
  fs.promises.rename = (async (from: fs.PathLike, to: fs.PathLike) => {
    await rename(from, to);
    events.push({ op: 'rename', path: path.resolve(String(from)), to: path.resolve(String(to)) });
  }) as typeof rename;
  restore.push(() => {
    fs.promises.open = open;
    proto.sync = sync;
    fs.promises.rename = rename;
  });
});
afterAll(() => restore.forEach((r) => r()));

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-durable-'));
  events = [];
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** `file` is durable: its content was fsynced (under its name or a temp name renamed to it), then its folder after it got its name. */
function expectDurable(file: string): void {
  const renamedFrom = events.filter((e) => e.op === 'rename' && e.to === file).map((e) => e.path);
  const names = [file, ...renamedFrom];
  const contentSync = events.findIndex((e) => e.op === 'sync' && names.includes(e.path));
  expect({ file, contentSynced: contentSync >= 0 }).toEqual({ file, contentSynced: true });
  const named = Math.max(-1, ...events.map((e, i) => (e.op === 'rename' && e.to === file ? i : -1)));
  const dirSync = events.findIndex((e, i) => i > named && e.op === 'sync' && e.path === path.dirname(file));
  expect({ file, folderSyncedAfterRename: dirSync >= 0 }).toEqual({ file, folderSyncedAfterRename: true });
  if (renamedFrom.length > 0) expect(contentSync).toBeLessThan(named);
}

const chat = (id: string) => JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `hi ${id}` }], max_tokens: 5 } });

function input(file: string, workDir: string, n: number): ProviderInput {
  const text = Array.from({ length: n }, (_, i) => chat(`r${i}`)).join('\n') + '\n';
  fs.writeFileSync(file, text);
  return { path: file, requestCount: n, bytes: Buffer.byteLength(text), idempotencyKey: 'ab_durable/0', notBefore: 0, endpoint: '/v1/chat/completions', options: {}, workDir };
}

test('the merged result files and their folder are fsynced before mergeResults returns', async () => {
  const dir = path.join(tmp, 'results');
  const part: PartPlan = { index: 0, path: path.join(tmp, 'in.jsonl'), requestCount: 2, bytes: 10 };
  const written = await writePartResults({ batchId: 'ab', resultsDir: dir, part, ids: (async function* () { yield* ['a', 'b']; })(), lines: null, outcome: { code: 'x', message: 'y' } });
  events = [];
  const merged = await mergeResults(dir, [written]);
  expectDurable(merged.output_path);
  expectDurable(merged.errors_path);
});

test('the split parts of a staged input are fsynced, file and folder', async () => {
  const file = path.join(tmp, 'inputs', 'ab.jsonl');
  fs.mkdirSync(path.dirname(file));
  input(file, tmp, 4);
  const parts = await splitInput(file, { maxRequests: 2, maxBytes: 1e9 });
  expect(parts).toHaveLength(2);
  for (const p of parts) expectDurable(p.path);
});

const conn: ProviderConnection = { apiKey: 'k', apiBase: 'http://127.0.0.1:9/v1' };

test("Anthropic's id map and translated requests are fsynced before the part is prepared", async () => {
  const work = path.join(tmp, 'work', '0');
  await getAdapter('anthropic').prepareInput(conn, input(path.join(tmp, 'in.jsonl'), work, 3));
  expectDurable(path.join(work, 'custom-ids.json'));
  expectDurable(path.join(work, 'requests.jsonl'));
  expectDurable(path.join(work, 'run-nonce.json'));
});

test.each([
  ['together', (work: string) => fs.readdirSync(work).filter((f) => f.endsWith('.jsonl') || f.endsWith('.json')).map((f) => path.join(work, f))],
  ['mistral', (work: string) => fs.readdirSync(work).filter((f) => f.endsWith('.jsonl') || f.endsWith('.json')).map((f) => path.join(work, f))],
  ['gemini', (work: string) => [path.join(work, 'requests.jsonl'), path.join(work, 'plan.json')]],
] as const)("%s's translated requests (and what prepareInput decided) are fsynced before anything is sent", async (provider, filesOf) => {
  const work = path.join(tmp, 'work', '0');
  const adapter = getAdapter(provider) as unknown as { translate(input: ProviderInput): Promise<unknown> };
  const model = provider === 'gemini' ? 'gemini-2.5-flash' : provider === 'mistral' ? 'mistral-small-latest' : 'meta-llama/Llama-3.3-70B-Instruct-Turbo';
  const inp = input(path.join(tmp, 'in.jsonl'), work, 2);
  fs.writeFileSync(inp.path, fs.readFileSync(inp.path, 'utf8').replaceAll('gpt-4o-mini', model));
  await adapter.translate.call(adapter, inp);
  const files = filesOf(work).filter((f) => !f.endsWith('run-nonce.json'));
  expect(files.length).toBeGreaterThanOrEqual(2);
  for (const f of files) expectDurable(f);
});
