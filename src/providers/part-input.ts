/**
 * Reading a part's input, whether it is a file of its own or a byte range of the staged input (`ProviderInput.offset`):
 * every adapter reads its part through these, so a range is never copied before it is sent.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readFileChunks } from '../results/jsonl';
import type { ProviderInput } from './types';

type PartSource = Pick<ProviderInput, 'path' | 'offset' | 'bytes'>;

/** The part's bytes, through one reused buffer (each chunk valid until the next is asked for). */
export function partChunks(input: PartSource): AsyncGenerator<Buffer> {
  if (input.offset === undefined) return readFileChunks(input.path);
  return readFileChunks(input.path, undefined, { start: input.offset, end: input.offset + input.bytes - 1 });
}

/** The part as a file-backed Blob, read lazily while a request body is sent (never held in memory). */
export async function partBlob(input: PartSource): Promise<Blob> {
  const blob = await fs.openAsBlob(input.path);
  return input.offset === undefined ? blob : blob.slice(input.offset, input.offset + input.bytes);
}

/** The part's file name, for names at the provider. */
export function partFileName(input: Pick<ProviderInput, 'path' | 'name'>): string {
  return input.name ?? path.basename(input.path);
}
