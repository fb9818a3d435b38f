/**
 * The S3 server of the test run (versitygw, started by test/support/global-setup.ts): its settings as a store
 * config for tests that open a store themselves, and as the environment a client or worker process is given.
 */
import type { S3StoreConfig } from '../../src/storage';

export type TestS3Config = Required<Pick<S3StoreConfig, 'endpoint' | 'region' | 'bucket' | 'credentials'>>;

/** The test server's endpoint, region, bucket and credentials. */
export function testS3Config(): TestS3Config {
  const endpoint = process.env.ANYBATCH_TEST_S3_ENDPOINT;
  if (!endpoint) throw new Error('ANYBATCH_TEST_S3_ENDPOINT is not set: run through jest (test/support/global-setup.ts starts versitygw)');
  return {
    endpoint,
    region: process.env.ANYBATCH_TEST_S3_REGION!,
    bucket: process.env.ANYBATCH_TEST_S3_BUCKET!,
    credentials: { accessKeyId: process.env.ANYBATCH_TEST_S3_ACCESS_KEY_ID!, secretAccessKey: process.env.ANYBATCH_TEST_S3_SECRET_ACCESS_KEY! },
  };
}

/** What a client or worker is given to use `s3://<bucket>/<prefix>` on the test server (ANYBATCH_STORAGE and AWS_*). */
export function testS3Env(prefix: string): Record<string, string> {
  const c = testS3Config();
  return {
    ANYBATCH_STORAGE: `s3://${c.bucket}/${prefix}`,
    AWS_ENDPOINT_URL_S3: c.endpoint,
    AWS_ACCESS_KEY_ID: c.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: c.credentials.secretAccessKey,
    AWS_REGION: c.region,
  };
}
