/**
 * The gateway's input files, in the blob store under the caller's scope:
 * `gateway/<provider>/<scope>/files/<file id>/input.jsonl` (the bytes uploaded, validated as `createBatch` validates
 * while they are stored) and `file.json` (OpenAI's file object, with the endpoint its lines call). An upload is
 * streamed from the multipart body to a temporary file, then validated and put into the store at once (two reads of
 * that file side by side), so memory stays flat whatever its size; a bad line is a 400 naming it, and nothing is kept.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { InputValidationError } from '../errors';
import type { ProviderCapabilities } from '../providers/capabilities';
import type { BlobStore } from '../storage';
import { validateInputFile } from '../validation';
import { LineSplitter } from '../validation/lines';
import { readStoreJson } from './store-json';
import { badRequest, GatewayError } from './errors';

/** OpenAI's file object, and the endpoint the file's lines call (for the batch created from it). */
export interface GatewayFile {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  filename: string;
  purpose: string;
  status: 'processed';
  status_details: null;
  expires_at: null;
  /** anybatch's: the endpoint of the lines and how many there are. */
  anybatch: { endpoint: string; request_count: number };
}

/** Where a scope's things are. */
export function scopeRoot(provider: string, scope: string): string {
  return `gateway/${provider}/${scope}/`;
}

const FILE_ID = /^file-[a-z0-9]{24}$/;

export function newFileId(): string {
  return `file-${crypto.randomBytes(15).toString('base64url').toLowerCase().replace(/[^a-z0-9]/g, '0').slice(0, 24).padEnd(24, '0')}`;
}

export function isInputFileId(id: string): boolean {
  return FILE_ID.test(id);
}

/**
 * The endpoint the file's first request line calls (`url`), or null when it names none. The line is framed as the
 * validation frames lines (a BOM, `\r\n` and blank lines skipped) and read whole, however long: no longer than the
 * validation itself holds a line (`maxLineBytes`; a longer one is refused by it, naming the line).
 */
async function firstUrl(file: string, maxLineBytes: number): Promise<string | null> {
  const first: { line: Buffer | null; done: boolean } = { line: null, done: false };
  const splitter = new LineSplitter(
    {
      line: (bytes) => {
        if (!first.done) first.line = Buffer.from(bytes);
        first.done = true;
      },
      oversized: () => (first.done = true),
    },
    maxLineBytes,
  );
  const stream = fs.createReadStream(file);
  try {
    for await (const chunk of stream) {
      splitter.push(chunk as Buffer);
      if (first.done) break;
    }
    if (!first.done) splitter.end();
  } finally {
    stream.destroy();
  }
  if (first.line === null) return null;
  try {
    const url = (JSON.parse(first.line.toString('utf8')) as { url?: unknown } | null)?.url;
    return typeof url === 'string' ? url : null;
  } catch {
    return null;
  }
}

export class GatewayFiles {
  constructor(
    private readonly store: BlobStore,
    private readonly provider: string,
    private readonly capabilities: ProviderCapabilities,
    private readonly checkPayload?: (payload: Record<string, unknown>, endpoint: string) => { problems: { field?: string; message: string }[]; warnings: string[] },
  ) {}

  private keys(scope: string, id: string) {
    const folder = `${scopeRoot(this.provider, scope)}files/${id}/`;
    return { folder, input: `${folder}input.jsonl`, meta: `${folder}file.json` };
  }

  /** Receives a multipart upload (`purpose`, `file`), validates it and stores it; the file object. */
  async upload(req: IncomingMessage, scope: string, maxBytes: number): Promise<GatewayFile> {
    const tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'anybatch-gateway-'));
    try {
      const received = await receive(req, path.join(tmp, 'upload.jsonl'), maxBytes);
      if (received.purpose !== 'batch') throw badRequest(`purpose must be "batch" (got ${JSON.stringify(received.purpose)}): this gateway takes batch input files only.`, 'purpose');
      const endpoint = (await firstUrl(received.path, this.capabilities.maxBytesPerBatch - 1)) ?? this.capabilities.endpoints[0];
      if (!this.capabilities.endpoints.includes(endpoint)) {
        throw badRequest(`line 1: url ${JSON.stringify(endpoint)} is not an endpoint ${this.provider} batches take (${this.capabilities.endpoints.join(', ')}).`, 'file');
      }
      const id = newFileId();
      const keys = this.keys(scope, id);
      // The bytes as uploaded go to the store (its content is what was sent, as at OpenAI; `createBatch` reads lines
      // the same way from it) while the same temporary file is validated, both reading it at once. The put's body ends
      // only once every line is accepted, so no object is ever complete before that (S3 sends a small body's single
      // PUT only at its end); a refusal fails the body, and the put leaves nothing.
      let refusal: { error: unknown } | null = null;
      const validation = validateInputFile(received.path, {
        file: received.filename,
        endpoint,
        capabilities: this.capabilities,
        enforceBatchLimits: false,
        checkPayload: this.checkPayload && ((payload) => this.checkPayload!(payload, endpoint)),
      });
      validation.catch((error: unknown) => (refusal = { error }));
      const uploaded = received.path;
      const body = async function* () {
        for await (const chunk of fs.createReadStream(uploaded)) {
          if (refusal) throw refusal.error;
          yield chunk as Buffer;
        }
        await validation;
      };
      const stored = this.store.put(keys.input, Readable.from(body()), { contentType: 'application/jsonl' });
      stored.catch(() => undefined); // awaited below; a failure meanwhile is not unhandled
      let validated;
      try {
        validated = await validation;
        await stored;
      } catch (err) {
        await stored.catch(() => undefined);
        await this.store.removeFolder(keys.folder).catch(() => undefined);
        if (err instanceof InputValidationError) throw badRequest(err.message, 'file', 'invalid_file');
        throw err;
      }
      const file: GatewayFile = {
        id,
        object: 'file',
        bytes: received.bytes,
        created_at: Math.floor(Date.now() / 1000),
        filename: received.filename,
        purpose: 'batch',
        status: 'processed',
        status_details: null,
        expires_at: null,
        anybatch: { endpoint, request_count: validated.requestCount },
      };
      await this.store.put(keys.meta, JSON.stringify(file));
      return file;
    } finally {
      await fs.promises.rm(tmp, { recursive: true, force: true });
    }
  }

  /** The caller's file, or null when the scope has none of that id (another scope's is the same as none). */
  async get(scope: string, id: string): Promise<GatewayFile | null> {
    if (!isInputFileId(id)) return null;
    return readStoreJson<GatewayFile>(this.store, this.keys(scope, id).meta);
  }

  /** The file's lines, streamed, with the local path when the store is a folder on this host. */
  async content(scope: string, id: string): Promise<NodeJS.ReadableStream> {
    return this.store.get(this.keys(scope, id).input);
  }

  /**
   * A path of the file's content on this host: the store's own file, or a copy in `tmpDir` of its own (two creates
   * from one file never share it). `release` removes a copy once the batch has staged its input (a no-op for the
   * store's own file), so a remote store's gateway keeps no copy per create.
   */
  async localPath(scope: string, id: string, tmpDir: string): Promise<{ path: string; release(): Promise<void> }> {
    const key = this.keys(scope, id).input;
    const local = this.store.localFile(key);
    if (local) return { path: local, release: async () => {} };
    const copy = path.join(tmpDir, `${id}-${crypto.randomBytes(6).toString('hex')}.jsonl`);
    const release = () => fs.promises.rm(copy, { force: true });
    try {
      await pipeline(await this.store.get(key), fs.createWriteStream(copy));
    } catch (err) {
      await release();
      throw err;
    }
    return { path: copy, release };
  }

  async delete(scope: string, id: string): Promise<void> {
    await this.store.removeFolder(this.keys(scope, id).folder);
  }
}

interface Received {
  path: string;
  bytes: number;
  filename: string;
  purpose: string | null;
}

/** Streams a multipart body's `file` part to `target` (at most `maxBytes`), with its `purpose` field. */
function receive(req: IncomingMessage, target: string, maxBytes: number): Promise<Received> {
  return new Promise<Received>((resolve, reject) => {
    const type = req.headers['content-type'] ?? '';
    if (!/^multipart\/form-data/i.test(type)) {
      reject(badRequest('POST /v1/files takes a multipart/form-data body with "purpose" and "file".'));
      return;
    }
    let parser: busboy.Busboy;
    try {
      // busboy calls a file that reaches its limit truncated (it cannot know whether more follows): one byte over
      // the most taken, so a file of exactly `maxBytes` is taken whole.
      parser = busboy({ headers: req.headers, defParamCharset: 'utf8', limits: { fileSize: maxBytes + 1, files: 1, fields: 10 } });
    } catch (err) {
      reject(badRequest(`The multipart body cannot be read: ${(err as Error).message}`));
      return;
    }
    let purpose: string | null = null;
    let written: Promise<{ bytes: number; filename: string; truncated: boolean }> | null = null;
    let fileStream: Readable | null = null;
    // A client gone before its body ended (the connection closed): the parser would wait for the rest for ever, and
    // the upload's temporary file would never be removed. The file part is ended with an error, then the upload is.
    req.once('close', () => {
      if (req.complete) return;
      const err = badRequest('The upload ended before its body did: the connection was closed.');
      req.unpipe(parser);
      parser.destroy();
      fileStream?.destroy(err);
      void Promise.resolve(written)
        .catch(() => undefined)
        .then(() => reject(err));
    });
    parser.on('field', (name, value) => {
      if (name === 'purpose') purpose = value;
    });
    parser.on('file', (name, stream, info) => {
      if (name !== 'file' || written) {
        stream.resume();
        return;
      }
      fileStream = stream;
      let bytes = 0;
      let truncated = false;
      stream.on('data', (chunk: Buffer) => (bytes += chunk.length));
      stream.on('limit', () => (truncated = true));
      written = pipeline(stream, fs.createWriteStream(target)).then(() => ({ bytes, filename: info.filename || 'input.jsonl', truncated }));
    });
    parser.on('error', (err: Error) => reject(badRequest(`The multipart body cannot be read: ${err.message}`)));
    parser.on('close', () => {
      if (!written) {
        reject(badRequest('The multipart body has no "file" part.', 'file'));
        return;
      }
      written.then((w) => {
        if (w.truncated) reject(new GatewayError(413, `The file is larger than this gateway takes (${maxBytes} bytes).`, 'invalid_request_error', 'file_too_large', 'file'));
        else resolve({ path: target, bytes: w.bytes, filename: w.filename, purpose });
      }, reject);
    });
    req.pipe(parser);
  });
}
