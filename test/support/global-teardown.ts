export default async function globalTeardown(): Promise<void> {
  await globalThis.__ANYBATCH_DEV_SERVER__?.stop();
}
