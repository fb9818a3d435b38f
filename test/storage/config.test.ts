/** ANYBATCH_STORAGE parsing, openStore, and key validation (no server needed). */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidKeyError, LocalBlobStore, S3BlobStore, StorageError, openStore, storageConfigFromEnv, validateKey, validatePrefix } from '../../src/storage';

describe('storageConfigFromEnv', () => {
  test('unset or empty: the local folder ANYBATCH_HOME (default .anybatch)', () => {
    expect(storageConfigFromEnv({})).toEqual({ kind: 'local', root: path.resolve('.anybatch') });
    expect(storageConfigFromEnv({ ANYBATCH_HOME: '/srv/ab' })).toEqual({ kind: 'local', root: '/srv/ab' });
    expect(storageConfigFromEnv({ ANYBATCH_HOME: '/srv/ab', ANYBATCH_STORAGE: '  ' })).toEqual({ kind: 'local', root: '/srv/ab' });
  });

  test('a plain path or a file:// URL: the local folder there', () => {
    expect(storageConfigFromEnv({ ANYBATCH_STORAGE: 'data/store', ANYBATCH_HOME: '/x' })).toEqual({ kind: 'local', root: path.resolve('data/store') });
    expect(storageConfigFromEnv({ ANYBATCH_STORAGE: '/var/lib/anybatch' })).toEqual({ kind: 'local', root: '/var/lib/anybatch' });
    expect(storageConfigFromEnv({ ANYBATCH_STORAGE: 'file:///var/lib/any%20batch' })).toEqual({ kind: 'local', root: '/var/lib/any batch' });
    expect(storageConfigFromEnv({ ANYBATCH_STORAGE: pathToFileURL('/tmp/s').href })).toEqual({ kind: 'local', root: '/tmp/s' });
  });

  test('s3://bucket/prefix with the AWS settings beside it', () => {
    expect(storageConfigFromEnv({ ANYBATCH_STORAGE: 's3://my-bucket' })).toMatchObject({ kind: 's3', bucket: 'my-bucket', prefix: '', endpoint: undefined, region: undefined });
    expect(
      storageConfigFromEnv({
        ANYBATCH_STORAGE: 's3://my-bucket/team/anybatch/',
        AWS_ENDPOINT_URL: 'http://ignored:1',
        AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:7070',
        AWS_REGION: 'eu-west-3',
        ANYBATCH_S3_PATH_STYLE: 'false',
        ANYBATCH_S3_CHECKSUMS: 'when_supported',
        ANYBATCH_S3_CONDITIONAL_CREATE: 'head-check',
      }),
    ).toEqual({
      kind: 's3',
      bucket: 'my-bucket',
      prefix: 'team/anybatch',
      endpoint: 'http://127.0.0.1:7070',
      region: 'eu-west-3',
      forcePathStyle: false,
      checksumMode: 'WHEN_SUPPORTED',
      conditionalCreate: 'head-check',
    });
    expect(storageConfigFromEnv({ ANYBATCH_STORAGE: 's3://bkt', ANYBATCH_S3_PART_MB: '16', ANYBATCH_S3_PARTS_IN_FLIGHT: '2' })).toMatchObject({
      partSize: 16 * 1024 * 1024,
      queueSize: 2,
    });
    expect(storageConfigFromEnv({ ANYBATCH_STORAGE: 's3://bkt' })).not.toHaveProperty('partSize');
    expect(storageConfigFromEnv({ ANYBATCH_STORAGE: 's3://b.example', AWS_ENDPOINT_URL: 'https://storage.googleapis.com' })).toMatchObject({
      endpoint: 'https://storage.googleapis.com',
    });
  });

  test.each([
    ['ANYBATCH_STORAGE', 's3://', { ANYBATCH_STORAGE: 's3://' }],
    ['ANYBATCH_STORAGE', 's3:bucket', { ANYBATCH_STORAGE: 's3:bucket' }],
    ['ANYBATCH_STORAGE', 's3://Bad_Bucket', { ANYBATCH_STORAGE: 's3://Bad_Bucket' }],
    ['ANYBATCH_STORAGE', 's3://bucket/a//b', { ANYBATCH_STORAGE: 's3://bucket/a//b' }],
    ['ANYBATCH_STORAGE', 's3://bucket/../x', { ANYBATCH_STORAGE: 's3://bucket/../x' }],
    ['ANYBATCH_STORAGE', 'gs://bucket', { ANYBATCH_STORAGE: 'gs://bucket' }],
    ['ANYBATCH_STORAGE', 'https://host/bucket', { ANYBATCH_STORAGE: 'https://host/bucket' }],
    ['ANYBATCH_STORAGE', 'file://server/share', { ANYBATCH_STORAGE: 'file://server/share' }],
    ['AWS_ENDPOINT_URL', 'not a url', { ANYBATCH_STORAGE: 's3://bucket', AWS_ENDPOINT_URL: 'not a url' }],
    ['AWS_ENDPOINT_URL_S3', 'ftp://h', { ANYBATCH_STORAGE: 's3://bucket', AWS_ENDPOINT_URL_S3: 'ftp://h' }],
    ['ANYBATCH_S3_CHECKSUMS', 'sometimes', { ANYBATCH_STORAGE: 's3://bucket', ANYBATCH_S3_CHECKSUMS: 'sometimes' }],
    ['ANYBATCH_S3_PATH_STYLE', 'maybe', { ANYBATCH_STORAGE: 's3://bucket', ANYBATCH_S3_PATH_STYLE: 'maybe' }],
    ['ANYBATCH_S3_PART_MB', '4', { ANYBATCH_STORAGE: 's3://bucket', ANYBATCH_S3_PART_MB: '4' }],
    ['ANYBATCH_S3_PART_MB', '8.5', { ANYBATCH_STORAGE: 's3://bucket', ANYBATCH_S3_PART_MB: '8.5' }],
    ['ANYBATCH_S3_PARTS_IN_FLIGHT', '0', { ANYBATCH_STORAGE: 's3://bucket', ANYBATCH_S3_PARTS_IN_FLIGHT: '0' }],
    ['ANYBATCH_S3_PARTS_IN_FLIGHT', 'many', { ANYBATCH_STORAGE: 's3://bucket', ANYBATCH_S3_PARTS_IN_FLIGHT: 'many' }],
  ])('a bad %s=%s names the variable and the value', (name, value, env) => {
    let err: unknown;
    try {
      storageConfigFromEnv(env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StorageError);
    expect(err).toMatchObject({ code: 'storage_config' });
    expect((err as Error).message.startsWith(`${name}=${JSON.stringify(value)}: `)).toBe(true);
  });
});

describe('openStore', () => {
  test('local and S3 stores, with the S3 defaults for a custom endpoint', async () => {
    const local = openStore({ kind: 'local', root: '/tmp/x' });
    expect(local).toBeInstanceOf(LocalBlobStore);
    expect(local.uri('a/b')).toBe('file:///tmp/x/a/b');

    const s3 = openStore(storageConfigFromEnv({ ANYBATCH_STORAGE: 's3://bkt/p', AWS_ENDPOINT_URL: 'http://127.0.0.1:9' })) as S3BlobStore;
    expect(s3).toBeInstanceOf(S3BlobStore);
    expect(s3.uri('a/b')).toBe('s3://bkt/p/a/b');
    expect(s3.describe()).toBe('S3 bucket "bkt" (prefix p/) at 127.0.0.1:9');
    expect(s3.client.config.forcePathStyle).toBe(true);
    expect(await s3.client.config.region()).toBe('us-east-1');
    expect(await s3.client.config.requestChecksumCalculation()).toBe('WHEN_REQUIRED');
    expect(await s3.client.config.responseChecksumValidation()).toBe('WHEN_REQUIRED');
    s3.destroy();

    const aws = new S3BlobStore({ bucket: 'bkt', region: 'eu-west-1' });
    expect(aws.client.config.forcePathStyle).toBe(false);
    expect(aws.describe()).toBe('S3 bucket "bkt" at s3.eu-west-1.amazonaws.com');
    aws.destroy();
  });

  test('a part size below 5 MiB is refused', () => {
    expect(() => new S3BlobStore({ bucket: 'bkt', endpoint: 'http://127.0.0.1:9', partSize: 1024 })).toThrow(/at least 5 MiB/);
  });
});

describe('keys', () => {
  test.each(['a', 'a/b/c.jsonl', 'results/batch_01/parts/3/output.jsonl', 'x y/ü.txt', '.hidden', 'a/..b', '_probe/h-1'])('%j is valid', (key) => {
    expect(validateKey(key)).toBe(key);
  });
  test.each(['', 'a/', 'a/c', 'li', '_probe/'])('prefix %j is valid', (prefix) => {
    expect(validatePrefix(prefix)).toBe(prefix);
  });
  test('errors say what is wrong', () => {
    expect(() => validateKey('a//b')).toThrow('Invalid storage key "a//b": empty segment (leading, trailing or doubled "/").');
    expect(() => validateKey('/a')).toThrow('Invalid storage key "/a": leading "/" (keys are relative).');
    expect(() => validateKey('a/../b')).toThrow('Invalid storage key "a/../b": ".." segment.');
    expect(() => validateKey('a\\b')).toThrow(InvalidKeyError);
  });
});
