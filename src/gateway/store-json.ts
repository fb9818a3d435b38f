/** The gateway's small JSON objects in the blob store (file objects, batch markers, the salt): one read, null when absent. */
import { objectChunks } from '../results/blob-writer';
import { BlobNotFoundError, type BlobStore } from '../storage';

export async function readStoreText(store: BlobStore, key: string): Promise<string | null> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of objectChunks(store, key)) chunks.push(chunk);
  } catch (err) {
    if (err instanceof BlobNotFoundError) return null;
    throw err;
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function readStoreJson<T>(store: BlobStore, key: string): Promise<T | null> {
  const text = await readStoreText(store, key);
  return text === null ? null : (JSON.parse(text) as T);
}
