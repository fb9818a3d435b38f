/**
 * A user's custom_ids are theirs: every provider whose definition limits them (`capabilities.customIds`, from its
 * folder's limits.ts) takes ids that break the limit, sends stand-ins (src/providers/custom-ids.ts) and maps the
 * results back, through its adapter against its sandbox module (which refuses what the provider refuses: Together
 * fails a job holding a custom_id over 64 characters, Anthropic refuses ids outside `^[a-zA-Z0-9_-]{1,64}$`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { validateInputFile } from '../../src/validation';
import { PROVIDERS, type ProviderCapabilities } from '../../src/providers/catalog';
import { CustomIdMap, fitsRule } from '../../src/providers/custom-ids';
import { getAdapter, supportedProviders } from '../../src/providers/registry';
import type { ProviderConnection, ProviderInput, ResultLine } from '../../src/providers/types';
import { startSandbox, type Sandbox } from '../../src/sandbox';

let sandbox: Sandbox;
let dir: string;

beforeAll(async () => {
  sandbox = await startSandbox({ rate: 500, validationMs: 20, finalizingMs: 10, cancellingMs: 20 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'custom-ids-'));
});
afterAll(async () => {
  await sandbox?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Ids each limited provider would refuse, beside ones it takes. */
const CASES = {
  together: {
    model: 'meta-llama/Llama-3.3-70B-Instruct-Turbo',
    ids: [`order-${'x'.repeat(70)}`, 'é'.repeat(65), `${'y'.repeat(64)}`, 'short', `order-${'x'.repeat(70)}-2`],
  },
  anthropic: {
    model: 'claude-sonnet-4-5',
    ids: ['order.1', 'with spaces/and:colons', `long-${'z'.repeat(80)}`, 'plain_id-1'],
  },
} as const;

type Limited = keyof typeof CASES;

test('the providers whose definitions limit custom_ids are the ones covered here', () => {
  const limited = supportedProviders().filter((p) => (PROVIDERS[p] as ProviderCapabilities).customIds !== undefined);
  expect(limited.sort()).toEqual(Object.keys(CASES).sort());
});

function stage(provider: Limited, ids: readonly string[]): ProviderInput {
  const name = `${provider}-${Date.now()}`;
  const file = path.join(dir, `${name}.jsonl`);
  const lines = ids.map((id, i) =>
    JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: CASES[provider].model, messages: [{ role: 'user', content: `Question ${i}` }], max_tokens: 20 } }),
  );
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return {
    path: file,
    requestCount: ids.length,
    bytes: fs.statSync(file).size,
    idempotencyKey: `ab_${name}/0`,
    notBefore: Math.floor(Date.now() / 1000) - 5,
    endpoint: '/v1/chat/completions',
    options: {},
    workDir: path.join(dir, `${name}-work`),
  };
}

describe.each(Object.keys(CASES) as Limited[])('%s: ids it would refuse are sent as stand-ins and come back as they were', (provider) => {
  const conn = (): ProviderConnection => ({ apiKey: `${provider}-key`, apiBase: sandbox.baseUrls[provider] });
  const ids: readonly string[] = CASES[provider].ids;

  test('validation takes them (nothing is refused for the provider\'s rule)', async () => {
    const input = stage(provider, ids);
    const rule = PROVIDERS[provider].customIds!;
    expect(ids.some((id) => !fitsRule(id, rule))).toBe(true);
    const validated = await validateInputFile(input.path, { file: input.path, endpoint: '/v1/chat/completions', capabilities: PROVIDERS[provider] });
    expect(validated.requestCount).toBe(ids.length);
  });

  test('a batch of them completes at the provider; every result is under the id the user gave', async () => {
    const adapter = getAdapter(provider);
    const input = stage(provider, ids);
    const prepared = await adapter.prepareInput(conn(), input);
    const created = await adapter.createBatch(conn(), { input, prepared, endpoint: '/v1/chat/completions', completionWindow: '24h', metadata: null });
    let batch = created;
    for (let i = 0; i < 300 && !['completed', 'failed', 'expired', 'cancelled'].includes(batch.status); i++) {
      await new Promise((r) => setTimeout(r, 20));
      batch = await adapter.retrieveBatch(conn(), created.id);
    }
    expect(batch.status).toBe('completed');
    const lines: ResultLine[] = [];
    for await (const line of adapter.readResults(conn(), batch, input)) lines.push(line);
    expect(lines.map((l) => l.custom_id).sort()).toEqual([...ids].sort());
    for (const line of lines) {
      expect(line.error).toBeNull();
      expect(line.response!.status_code).toBe(200);
      const question = `Question ${ids.indexOf(line.custom_id)}`;
      expect(JSON.stringify(line.response!.body)).toContain(question);
    }
  });
});

test('the map keeps what fits, remaps what does not within the rule, and inverts both', () => {
  const rule = PROVIDERS.together.customIds!;
  const map = new CustomIdMap(rule);
  const long = 'q'.repeat(65);
  const wide = '😀'.repeat(64); // 64 characters (128 UTF-16 units): Together counts characters, so it fits
  expect(map.add('short')).toBe('short');
  expect(map.add(wide)).toBe(wide);
  const stand = map.add(long);
  expect(stand).toMatch(/^h_[a-z2-7]{40}$/);
  expect(fitsRule(stand, rule)).toBe(true);
  expect([map.toOriginal(stand), map.toOriginal('short'), map.toOriginal(wide)]).toEqual([long, 'short', wide]);
  const restored = CustomIdMap.restore(new CustomIdMap(rule), JSON.parse(JSON.stringify([...map.entries()])) as Array<[string, string]>);
  expect(restored.toOriginal(stand)).toBe(long);
  expect(() => new CustomIdMap({ maxLength: 20 })).toThrow(/cannot hold remapped ids/);
});
