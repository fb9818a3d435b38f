/** The gateway's pure parts: anybatch options through metadata, and the keys file's checks. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { optionsFromMetadata } from '../../src/gateway/batches';
import { readKeysFile } from '../../src/gateway/callers';
import { GatewayError } from '../../src/gateway/errors';

test('anybatch_ metadata keys become options; the rest stays the batch metadata; a misspelt option is a 400 naming it', () => {
  expect(
    optionsFromMetadata({
      team: 'qa',
      anybatch_max_requests_per_part: '500',
      anybatch_retry_failed: '2',
      anybatch_admission: '{"batches":3}',
      anybatch_option_roleArn: 'arn:aws:iam::123456789012:role/x',
      anybatch_option_maxInlineBytes: '1000',
    }),
  ).toEqual({
    metadata: { team: 'qa' },
    options: { maxRequestsPerPart: 500, retryFailed: { rounds: 2 }, admission: { batches: 3 } },
    providerOptions: { roleArn: 'arn:aws:iam::123456789012:role/x', maxInlineBytes: 1000 },
  });
  expect(optionsFromMetadata({ anybatch_retry_failed: '{"rounds":1,"codes":["5xx"]}' }).options).toEqual({ retryFailed: { rounds: 1, codes: ['5xx'] } });
  expect(optionsFromMetadata(null)).toEqual({ metadata: null, options: {}, providerOptions: {} });
  let err: unknown;
  try {
    optionsFromMetadata({ anybatch_max_request_per_part: '5' });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(GatewayError);
  expect(err).toMatchObject({ status: 400, param: 'metadata' });
  expect((err as Error).message).toContain('"anybatch_max_request_per_part" is not one of anybatch\'s options');
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
});
