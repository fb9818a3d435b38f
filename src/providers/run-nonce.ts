/**
 * What makes a part's provider objects its own: a per-run nonce, kept in the part's work folder.
 *
 * A part's idempotency key (`<batch id>/<part>`) is unique to the part within one run of a batch, but not across
 * runs: a batch id chosen again (after the earlier batch was deleted), or the same id used by another deployment in
 * the same provider organisation, gives the same key. So the key alone never proves that an upload or a batch found
 * at the provider is this run's. The nonce does: 80 random bits, made once per part the first time an adapter needs
 * it, written durably into the part's work folder (and made durable in the batch's store, `input.persist`) BEFORE
 * any request that carries it is sent, and read back by every later attempt, on any host. Adapters put it where the
 * provider shows it back (an upload's file name, a batch's name or display name, every custom_id of an Anthropic
 * batch) and adopt only what carries it.
 *
 * Also here: `writeDurable`, the atomic, fsynced write of the small files in a work folder (nonce, create markers).
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ProviderInput } from './types';

const NONCE_FILE = 'run-nonce.json';
const NONCE = /^[0-9a-f]{20}$/;

/** Writes `data` to `file` atomically (temporary file, fsync, rename, fsync of the folder): whole or absent after a crash. */
export async function writeDurable(file: string, data: string): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  const handle = await fs.promises.open(tmp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.promises.rename(tmp, file);
  try {
    const dir = await fs.promises.open(path.dirname(file), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // Folders cannot be opened for fsync on every platform (Windows); the rename is still atomic there.
  }
}

/** Reads a small JSON file of the work folder; null when it does not exist. */
export async function readJsonFile<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await fs.promises.readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** The part's nonce if one was made (null for a part prepared before nonces existed, or not yet needed). */
export async function existingRunNonce(input: ProviderInput): Promise<string | null> {
  const stored = await readJsonFile<{ nonce?: unknown }>(path.join(input.workDir, NONCE_FILE));
  if (stored === null) return null;
  if (typeof stored.nonce !== 'string' || !NONCE.test(stored.nonce)) throw new Error(`${path.join(input.workDir, NONCE_FILE)} holds no nonce: it is damaged.`);
  return stored.nonce;
}

/**
 * The part's nonce, made (and made durable, in the work folder and the batch's store) the first time it is asked
 * for. Await it before sending anything that carries it.
 */
export async function runNonce(input: ProviderInput): Promise<string> {
  const existing = await existingRunNonce(input);
  if (existing !== null) return existing;
  const nonce = randomBytes(10).toString('hex');
  await writeDurable(path.join(input.workDir, NONCE_FILE), JSON.stringify({ nonce, madeAt: new Date().toISOString() }));
  await input.persist?.();
  return nonce;
}

/** `<idempotency key>#<nonce>`: the part of this run, as a name the provider keeps (batch names, display names). */
export function runKey(idempotencyKey: string, nonce: string): string {
  return `${idempotencyKey}#${nonce}`;
}

/** The file name of a part's upload: the staged file's name with the nonce before its extension (`x.part-0.<nonce>.jsonl`). */
export function runFileName(localName: string, nonce: string): string {
  const ext = path.extname(localName);
  return `${path.basename(localName, ext)}.${nonce}${ext || '.jsonl'}`;
}

/** A short digest of the key and the nonce, in `[a-z2-7]` (16 characters, 80 bits), for places with little room. */
export function runTag(idempotencyKey: string, nonce: string): string {
  const digest = createHash('sha256').update(`anybatch-part\n${idempotencyKey}\n${nonce}`, 'utf8').digest();
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let out = '';
  let value = 0;
  let bits = 0;
  for (const byte of digest) {
    value = ((value << 8) | byte) & 0xfff;
    bits += 8;
    while (bits >= 5 && out.length < 16) {
      bits -= 5;
      out += alphabet[(value >>> bits) & 31];
    }
    if (out.length >= 16) break;
  }
  return out;
}
