/**
 * The synchronous checks of `POST /v1/messages/batches`: the envelope (`requests`, each `custom_id` and
 * `params` object) is checked at create, streaming, while the requests are copied to the batch's own JSONL
 * file. The `params` themselves are only checked when the batch runs, as Anthropic does.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { finished } from 'node:stream/promises';
import { isPlainObject } from '../../kernel/http';
import { EnvelopeScanner, MalformedBody } from './envelope-scan';
import { anthropicError } from './errors';
import type { StoredRequest } from './wire';

const CUSTOM_ID = /^[a-zA-Z0-9_-]{1,64}$/;
const READ_CHUNK = 1024 * 1024;

/** Checks the create body at `bodyPath` and writes its requests to `target`, one per line; returns how many. */
export async function copyRequests(bodyPath: string, target: string, maxRequests: number): Promise<number> {
  const scanner = new EnvelopeScanner();
  const seen = new Set<string>();
  const out = createWriteStream(target);
  out.on('error', () => undefined); // surfaced by `once`/`finished`; this keeps a write error from crashing the process
  let count = 0;
  try {
    for await (const chunk of createReadStream(bodyPath, { highWaterMark: READ_CHUNK }) as AsyncIterable<Buffer>) {
      for (const raw of scan(scanner, chunk)) {
        if (count >= maxRequests) throw invalid(`requests: too many requests; a batch holds at most ${maxRequests}`);
        const line = `${JSON.stringify(checkRequest(raw, count, seen))}\n`;
        count++;
        if (!out.write(line)) await once(out, 'drain');
      }
    }
    try {
      scanner.end();
    } catch (err) {
      throw malformed(err);
    }
    if (scanner.requests === 'absent') throw invalid('requests: Field required');
    if (scanner.requests === 'not-array') throw invalid('requests: Input should be a valid list');
    if (count === 0) throw invalid('requests: List should have at least 1 item after validation, not 0');
    out.end();
    await finished(out);
    return count;
  } catch (err) {
    out.destroy();
    await finished(out).catch(() => undefined);
    await fs.rm(target, { force: true });
    throw err;
  }
}

function scan(scanner: EnvelopeScanner, chunk: Buffer): Buffer[] {
  try {
    return scanner.push(chunk);
  } catch (err) {
    throw malformed(err);
  }
}

function checkRequest(raw: Buffer, index: number, seen: Set<string>): StoredRequest {
  let item: unknown;
  try {
    item = JSON.parse(raw.toString('utf8')) as unknown;
  } catch (err) {
    throw invalid(`requests.${index}: invalid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!isPlainObject(item)) throw invalid(`requests.${index}: Input should be a valid dictionary`);
  const { custom_id: customId, params } = item;
  if (customId === undefined) throw invalid(`requests.${index}.custom_id: Field required`);
  if (typeof customId !== 'string' || !CUSTOM_ID.test(customId)) {
    throw invalid(`requests.${index}.custom_id: String should match pattern '${CUSTOM_ID.source}' (got ${JSON.stringify(customId)})`);
  }
  if (seen.has(customId)) {
    throw invalid(`requests.${index}.custom_id: duplicate custom_id '${customId}'; each request in a batch needs a unique custom_id`);
  }
  seen.add(customId);
  if (params === undefined) throw invalid(`requests.${index}.params: Field required`);
  if (!isPlainObject(params)) throw invalid(`requests.${index}.params: Input should be a valid dictionary`);
  return { custom_id: customId, params };
}

function invalid(message: string): Error {
  return anthropicError(400, message);
}

function malformed(err: unknown): unknown {
  if (!(err instanceof MalformedBody)) return err;
  return invalid(`There was an error parsing the body of your request: ${err.message}`);
}
