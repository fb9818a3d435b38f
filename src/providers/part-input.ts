/**
 * Reading a part's input, whether it is a file of its own, a byte range of the staged input (`ProviderInput.offset`),
 * or an object in a remote store (`ProviderInput.read`): every adapter reads its part through these, so a part is
 * never copied before it is sent.
 */
import fs from 'node:fs';
import path from 'node:path';
import { toStreamingFile } from 'openai';
import type { Uploadable } from 'openai/core/uploads';
import { readFileChunks } from '../results/jsonl';
import type { ProviderInput } from './types';

type PartSource = Pick<ProviderInput, 'path' | 'offset' | 'bytes' | 'read'>;

/** The part's bytes (from a file, through one reused buffer: each chunk valid until the next is asked for). */
export async function* partChunks(input: PartSource): AsyncGenerator<Buffer> {
  if (input.read) yield* input.read();
  else if (input.offset === undefined) yield* readFileChunks(input.path);
  else yield* readFileChunks(input.path, undefined, { start: input.offset, end: input.offset + input.bytes - 1 });
}

/**
 * The part as a file for an `openai` SDK upload, named `filename`, never held in memory: a file-backed File read
 * lazily while the body is sent, or, for a part in a remote store, the store's stream sent as it arrives. Make a new
 * one for each attempt (a stream is read once).
 */
export async function partUpload(input: PartSource, filename: string): Promise<Uploadable> {
  const type = 'application/jsonl';
  if (input.read) return toStreamingFile(input.read(), filename, { type });
  const blob = await fs.openAsBlob(input.path);
  return new File([input.offset === undefined ? blob : blob.slice(input.offset, input.offset + input.bytes)], filename, { type });
}

/** The part's file name, for names at the provider. */
export function partFileName(input: Pick<ProviderInput, 'path' | 'name'>): string {
  return input.name ?? path.basename(input.path);
}
