/** The gateway's pure parts: anybatch options through metadata, and the keys file's checks. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { optionsFromMetadata } from '../../src/gateway/batches';
import { readKeysFile } from '../../src/gateway/callers';
import { GatewayError } from '../../src/gateway/errors';
import { GatewayFiles, scopeRoot } from '../../src/gateway/files';
import { providerDefinition } from '../../src/providers/registry';
import { LocalBlobStore } from '../../src/storage';
import type { BlobStore } from '../../src/storage';

test('anybatch_ metadata keys become options; the rest stays the batch metadata; a misspelt option is a 400 naming it', () => {
  expect(
    optionsFromMetadata('bedrock', {
      team: 'qa',
      anybatch_max_requests_per_part: '500',
      anybatch_retry_failed: '2',
      anybatch_admission: '{"batches":3}',
      anybatch_option_roleArn: 'arn:aws:iam::123456789012:role/x',
      anybatch_option_modelId: 'anthropic.claude-3-haiku-20240307-v1:0',
    }),
  ).toEqual({
    metadata: { team: 'qa' },
    options: { maxRequestsPerPart: 500, retryFailed: { rounds: 2 }, admission: { batches: 3 } },
    providerOptions: { roleArn: 'arn:aws:iam::123456789012:role/x', modelId: 'anthropic.claude-3-haiku-20240307-v1:0' },
  });
  expect(optionsFromMetadata('gemini', { anybatch_option_maxInlineBytes: '1000' }).providerOptions).toEqual({ maxInlineBytes: 1000 });
  expect(optionsFromMetadata('openai', { anybatch_retry_failed: '{"rounds":1,"codes":["5xx"]}' }).options).toEqual({ retryFailed: { rounds: 1, codes: ['5xx'] } });
  expect(optionsFromMetadata('openai', null)).toEqual({ metadata: null, options: {}, providerOptions: {} });
  let err: unknown;
  try {
    optionsFromMetadata('openai', { anybatch_max_request_per_part: '5' });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(GatewayError);
  expect(err).toMatchObject({ status: 400, param: 'metadata' });
  expect((err as Error).message).toContain('"anybatch_max_request_per_part" is not one of anybatch\'s options');
});

test.each(['apiBase', 'apiKey', 'temporal', 'taskQueue', 'resultsDir', 'batchId', 'clientArgs', 'pollInterval'])(
  'anybatch_option_%s is refused: only the provider\'s own options pass through metadata (a caller cannot redirect a held key or the worker)',
  (name) => {
    for (const provider of ['openai', 'anthropic', 'bedrock'] as const) {
      let err: unknown;
      try {
        optionsFromMetadata(provider, { [`anybatch_option_${name}`]: name === 'temporal' ? '{"address":"10.0.0.1:7233"}' : 'https://attacker.example/v1' });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(GatewayError);
      expect(err).toMatchObject({ status: 400, param: 'metadata' });
      expect((err as Error).message).toContain(`"anybatch_option_${name}" is not an option of ${provider}`);
    }
  },
);

test('an option of another provider is refused too, naming the provider\'s own', () => {
  expect(() => optionsFromMetadata('openai', { anybatch_option_roleArn: 'arn:aws:iam::1:role/x' })).toThrow(/not an option of openai/);
  expect(() => optionsFromMetadata('bedrock', { anybatch_option_maxInlineBytes: '5' })).toThrow(/anybatch_option_roleArn/);
});

describe('the keys file', () => {
  const write = (content: string) => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-keys-')), 'keys.json');
    fs.writeFileSync(file, content);
    return file;
  };

  test('a good file is read; each problem names the file and the entry', () => {
    const good = write(JSON.stringify({ keys: [{ key: 'gw-0123456789abcdef', tenant: 'team-a', providers: { openai: { apiKey: 'sk-x' } }, options: { retryFailed: { rounds: 1 } } }] }));
    expect(readKeysFile(good)).toEqual([{ key: 'gw-0123456789abcdef', tenant: 'team-a', providers: { openai: { apiKey: 'sk-x' } }, options: { retryFailed: { rounds: 1 } } }]);
    expect(() => readKeysFile(write('{not json'))).toThrow(/cannot be read as JSON/);
    expect(() => readKeysFile(write('{"keys": []}'))).toThrow(/has no "keys" list/);
    const short = write(JSON.stringify({ keys: [{ key: 'short', tenant: 'a' }] }));
    expect(() => readKeysFile(short)).toThrow(`${short}: keys[0].key must be a string of at least 16 characters.`);
    expect(() => readKeysFile(write(JSON.stringify({ keys: [{ key: 'gw-0123456789abcdef', tenant: 'Team A' }] })))).toThrow(/keys\[0\]\.tenant must be/);
    expect(() => readKeysFile(write(JSON.stringify({ keys: [{ key: 'gw-0123456789abcdef', tenant: 'a' }, { key: 'gw-0123456789abcdef', tenant: 'b' }] })))).toThrow(/keys\[1\]\.key is listed twice/);
  });

  test("a tenant's options are createBatch's: a misspelt one is refused when the file is read (not at each of its callers' creates), naming the entry", () => {
    const entry = (options: Record<string, unknown>) => write(JSON.stringify({ keys: [{ key: 'gw-0123456789abcdef', tenant: 'a' }, { key: 'gw-fedcba9876543210', tenant: 'b', options }] }));
    const misspelt = entry({ maxRequestPerPart: 10 });
    expect(() => readKeysFile(misspelt)).toThrow(`${misspelt}: keys[1].options: Unknown option "maxRequestPerPart"`);
    expect(() => readKeysFile(misspelt)).toThrow(/did you mean "maxRequestsPerPart"\?/);
    // Common options and a provider's own (a tenant on one provider) are taken.
    const good = { maxRequestsPerPart: 10, retryFailed: { rounds: 1 }, admission: { batches: 2 }, pollInterval: '10s', roleArn: 'arn:aws:iam::123456789012:role/x' };
    expect(readKeysFile(entry(good))[1]).toEqual({ key: 'gw-fedcba9876543210', tenant: 'b', options: good });
  });

  test.each(['apiKey', 'apiBase'])("a tenant's options hold no %s: a provider's key and base are held per provider (providers.<name>); in options they would go to every provider the tenant calls", (name) => {
    const file = write(JSON.stringify({ keys: [{ key: 'gw-0123456789abcdef', tenant: 'a', options: { [name]: 'sk-or-url' } }] }));
    expect(() => readKeysFile(file)).toThrow(`${file}: keys[0].options.${name}: a provider's key and base URL are held per provider, in keys[0].providers.<provider>.${name}`);
  });
});

describe('an input file staged from a store on another host', () => {
  /** A real folder store seen as S3 is: no file on this host, so reads go through `get`. */
  const remoteLike = (store: LocalBlobStore): BlobStore => Object.assign(Object.create(store) as BlobStore, { localFile: () => null });

  test('each create gets a copy of its own, removed by release; a folder store gives its own file, never removed', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-gw-store-'));
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-gw-tmp-'));
    const id = 'file-0123456789abcdefghijklmn';
    const key = `${scopeRoot('openai', 'scope1')}files/${id}/input.jsonl`;
    const content = '{"custom_id":"a"}\n{"custom_id":"b"}\n';
    const remote = new GatewayFiles(remoteLike(new LocalBlobStore({ root })), 'openai', providerDefinition('openai').capabilities);
    await new LocalBlobStore({ root }).put(key, content);

    const [one, two] = await Promise.all([remote.localPath('scope1', id, tmp), remote.localPath('scope1', id, tmp)]);
    expect(one.path).not.toBe(two.path);
    expect(fs.readFileSync(one.path, 'utf8')).toBe(content);
    expect(fs.readFileSync(two.path, 'utf8')).toBe(content);
    await one.release();
    expect(fs.existsSync(one.path)).toBe(false);
    expect(fs.readFileSync(two.path, 'utf8')).toBe(content);
    await two.release();
    expect(fs.readdirSync(tmp)).toEqual([]);

    const local = new GatewayFiles(new LocalBlobStore({ root }), 'openai', providerDefinition('openai').capabilities);
    const own = await local.localPath('scope1', id, tmp);
    expect(own.path).toBe(path.join(root, key));
    await own.release();
    expect(fs.readFileSync(own.path, 'utf8')).toBe(content);
  });
});
