export default async function globalTeardown(): Promise<void> {
  await globalThis.__ANYBATCH_DEV_SERVER__?.stop();
  await globalThis.__ANYBATCH_S3_SERVER__?.stop();
}
