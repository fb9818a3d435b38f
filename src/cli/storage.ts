/**
 * `anybatch storage init` and `anybatch storage check`: set up and verify the blob store that `ANYBATCH_STORAGE`
 * names (the local folder by default), with the checks a worker makes at start. `init` also creates the S3
 * bucket (or the folder) when it is missing, so a stack that starts from an empty object store (the compose
 * file's `storage-init` one-shot) needs no other tool. Both exit 1 with the store's error when it cannot be used.
 */
import type { Command } from 'commander';
import { checkStore, initStore, openStore, storageConfigFromEnv } from '../storage';

export function registerStorageCommand(program: Command): void {
  const storage = program.command('storage').description('set up or check the blob store of ANYBATCH_STORAGE (local folder by default)');
  storage
    .command('init')
    .description('create the bucket (or folder) when missing, then check it: reachable, credentials accepted, an object written, read and deleted')
    .action(async () => {
      const store = openStore(storageConfigFromEnv());
      const made = await initStore(store);
      process.stdout.write(`ok: ${made === 'created' ? 'created' : 'found'} the ${store.describe()} (${store.rootUri()}); a probe object was written, read back and deleted\n`);
    });
  storage
    .command('check')
    .description('check the store as a worker does at start, without creating anything')
    .action(async () => {
      const store = openStore(storageConfigFromEnv());
      await checkStore(store);
      process.stdout.write(`ok: the ${store.describe()} (${store.rootUri()}) is reachable; a probe object was written, read back and deleted\n`);
    });
}
