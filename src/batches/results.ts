/**
 * A finished batch's results: its two merged files, read where they are (this client's store, or a local path), as
 * raw lines or typed items.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { AnybatchBatch } from '../contract/batch';
import { isTerminal } from '../contract/batch';
import { clientStore } from '../config';
import { BatchFailedError, BatchNotCompleteError, UsageError } from '../errors';
import { BlobNotFoundError, StorageError } from '../storage';
import type { BlobStore } from '../storage';
import { layout } from '../storage/layout';
import type { ResultLine } from '../providers/types';
import { readJsonLines } from '../results/jsonl';
import { checkProvider } from '../options';
import type { ClientOptions, ProviderName } from '../options';
import { ENDPOINTS, isEndpoint, resultsEndpointCheck } from '../results/types';
import type { BatchResult, BatchResultItem, Endpoint, EndpointOf, EndpointResult } from '../results/types';
import { loadBatch, retrieveBatch } from '../batches/read';


function toItem<E extends Endpoint>(line: ResultLine): BatchResultItem<E> {
  if (line.error) return { custom_id: line.custom_id, result: null, error: line.error };
  const status = line.response?.status_code ?? 0;
  if (status >= 200 && status < 300) return { custom_id: line.custom_id, result: line.response!.body as EndpointResult[E], error: null };
  const body = line.response?.body as { error?: { code?: string | null; type?: string; message?: string } } | undefined;
  return {
    custom_id: line.custom_id,
    result: null,
    error: { code: body?.error?.code ?? body?.error?.type ?? `http_${status}`, message: body?.error?.message ?? `HTTP ${status}` },
  };
}

/** Streams every result line (output file, then error file) of a terminal batch. */
export async function* batchResultLines(provider: ProviderName | null, batchId: string, options: ClientOptions = {}): AsyncGenerator<ResultLine> {
  const batch = provider === null ? await loadBatch(batchId, options) : await retrieveBatch(provider, batchId, options);
  const files = batch.anybatch.results;
  if (batch.status === 'failed') {
    const where = files ? ` Every request is in ${files.errors_path}.` : '';
    throw new BatchFailedError(batchId, `Batch ${batchId} failed: ${batch.anybatch.failure ?? batch.errors?.data?.[0]?.message ?? 'the provider failed it'}.${where}`, batch);
  }
  if (!isTerminal(batch.status) || !files) throw new BatchNotCompleteError(batchId, batch.status);
  yield* resultLinesOf(batch);
}

/** Every result line (output file, then error file) of a batch whose results are written, read where they are. */
export async function* resultLinesOf(batch: AnybatchBatch): AsyncGenerator<ResultLine> {
  for (const which of ['output', 'errors'] as const) {
    const file = await openResultFile(batch, which);
    yield* readJsonLines<ResultLine>(file.stream, { source: file.source });
  }
}

export interface ResultFile {
  /** The file's bytes. */
  stream: Readable;
  /** Where it is (a URI, or a path for batches finished before the blob store), for messages. */
  source: string;
  /** Its file name: `output.jsonl` or `errors.jsonl`. */
  name: string;
}

/**
 * Opens one merged results file of a finished batch. A batch with result URIs (`output_uri`, `errors_uri`) is read
 * through this client's store (`ANYBATCH_STORAGE`), streamed, so a service on another host than the worker gets
 * its results; a `file://` URI outside the store (a caller's own `resultsDir`) and the paths of batches finished
 * before the blob store are read from this host's disk. A URI in another store is a `StorageError` naming both.
 */
export async function openResultFile(batch: AnybatchBatch, which: 'output' | 'errors'): Promise<ResultFile> {
  const files = batch.anybatch.results;
  if (!files) throw new BatchNotCompleteError(batch.id, batch.status);
  const uri = which === 'output' ? files.output_uri : files.errors_uri;
  const file = which === 'output' ? files.output_path : files.errors_path;
  if (!uri) return { stream: await openLocalResult(batch.id, file, file), source: file, name: path.basename(file) };
  const where = locate(uri);
  if (where.kind === 'store') {
    try {
      return { stream: await where.store.get(where.key), source: uri, name: path.posix.basename(where.key) };
    } catch (err) {
      if (err instanceof BlobNotFoundError) throw resultsGone(batch.id, uri, err.key, err);
      throw err;
    }
  }
  if (where.kind === 'file') return { stream: await openLocalResult(batch.id, where.path, uri), source: uri, name: path.basename(where.path) };
  throw foreignStore(batch.id, 'results', uri, where.store, storeGuess(uri, layout.output(layout.results(batch.id)), layout.errors(layout.results(batch.id))));
}

async function openLocalResult(batchId: string, file: string, shown: string): Promise<Readable> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw resultsGone(batchId, shown, file, err);
    throw err;
  }
  return handle.createReadStream({ highWaterMark: 1 << 20 });
}

function resultsGone(batchId: string, where: string, key: string, cause: unknown): BlobNotFoundError {
  const err = new BlobNotFoundError(key, where, { cause });
  err.message =
    `The results of batch ${batchId} are not at ${where}: they were deleted (anybatch delete, or a lifecycle rule of the bucket), ` +
    `or they are on the disk of another host (then share a store: ANYBATCH_STORAGE=s3://bucket/prefix on the client and the worker).`;
  return err;
}

/** Where a URI written by a worker is, seen from this client. */
type Located = { kind: 'store'; store: BlobStore; key: string } | { kind: 'file'; path: string } | { kind: 'foreign'; store: BlobStore };

function locate(uri: string): Located {
  const store = clientStore();
  const root = store.rootUri();
  if (uri.startsWith(root) && uri.length > root.length) {
    const rest = uri.slice(root.length);
    // A file URI is percent-encoded; an s3 URI holds the key as it is.
    return { kind: 'store', store, key: uri.startsWith('file:') ? decodeURIComponent(rest) : rest };
  }
  if (/^file:/i.test(uri)) return { kind: 'file', path: fileURLToPath(uri) };
  return { kind: 'foreign', store };
}

/** The store a URI of one of the `keys` belongs to, as an ANYBATCH_STORAGE value (`s3://bucket/prefix`), when it can be told. */
export function storeGuess(uri: string, ...keys: string[]): string | null {
  for (const key of keys) if (uri.endsWith(`/${key}`)) return uri.slice(0, -key.length).replace(/\/+$/, '');
  return null;
}

export function foreignStore(batchId: string, what: string, uri: string, store: BlobStore, guess: string | null): StorageError {
  const fix = guess ? `ANYBATCH_STORAGE=${guess}` : 'ANYBATCH_STORAGE';
  return new StorageError(
    'storage_config',
    `${uri} (the ${what} of batch ${batchId}) is not in this client's store (the ${store.describe()}, ${store.rootUri()}). ` +
      `Point the client at the worker's store: set ${fix} (and the same AWS_* settings as the worker).`,
  );
}

export interface ResultsOptions<E extends Endpoint = Endpoint> extends ClientOptions {
  /**
   * The batch's endpoint: types each item's `result` as that endpoint's response body (`EndpointResult[E]`).
   * Checked against the batch: a `UsageError` when it differs.
   */
  endpoint?: E;
}

/**
 * Streams every request's outcome of a terminal batch, as `BatchResultItem`s (typed by `options.endpoint`).
 * `provider` null: the id alone names the batch.
 */
export async function* iterateBatchResults<P extends ProviderName | null, E extends EndpointOf<P> = EndpointOf<P>>(
  provider: P,
  batchId: string,
  options: ResultsOptions<E> = {},
): AsyncGenerator<BatchResultItem<E>> {
  const { endpoint, ...clientOptions } = options;
  if (provider !== null) checkProvider(provider);
  let check: ((item: BatchResultItem<E>) => void) | null = null;
  if (endpoint !== undefined) {
    if (!isEndpoint(endpoint)) throw new UsageError(`endpoint ${JSON.stringify(endpoint)} is not an endpoint anybatch knows; known: ${ENDPOINTS.join(', ')}.`);
    check = resultsEndpointCheck(provider === null ? await loadBatch(batchId, clientOptions) : await retrieveBatch(provider, batchId, clientOptions), endpoint);
  }
  for await (const line of batchResultLines(provider, batchId, clientOptions)) {
    const item = toItem<E>(line);
    check?.(item);
    yield item;
  }
}

/** Every request's outcome of a terminal batch (typed by `options.endpoint`). Throws `BatchNotCompleteError` before then. */
export async function retrieveBatchResults<P extends ProviderName | null, E extends EndpointOf<P> = EndpointOf<P>>(
  provider: P,
  batchId: string,
  options: ResultsOptions<E> = {},
): Promise<BatchResult<E>> {
  const results: BatchResultItem<E>[] = [];
  for await (const item of iterateBatchResults<P, E>(provider, batchId, options)) results.push(item);
  return { results };
}
