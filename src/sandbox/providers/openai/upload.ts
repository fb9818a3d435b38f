/** Streams a `multipart/form-data` upload to disk (chunked bodies included), never buffering the file. */
import busboy from 'busboy';
import { randomBytes } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ApiError, badRequest } from '../../kernel/http';

export interface ReceivedUpload {
  /** Text fields of the form, by name (`purpose`, `expires_after[seconds]`, ...). */
  fields: Map<string, string>;
  /** The `file` part, or null when the form had none. The caller owns `tmpPath` from here on. */
  file: { tmpPath: string; filename: string; bytes: number } | null;
}

interface UploadState {
  file: { tmpPath: string; filename: string; writing: Promise<number> } | null;
  tooLarge: boolean;
}

/** Reads the whole form; a `file` part longer than `maxBytes` gives 400 "File is too large." once the body is drained. */
export async function receiveUpload(req: IncomingMessage, tmpDir: string, maxBytes: number): Promise<ReceivedUpload> {
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: req.headers, defParamCharset: 'utf8', limits: { fileSize: maxBytes, fields: 20, parts: 30 } });
  } catch {
    throw badRequest('Expected a multipart/form-data request body.');
  }
  const fields = new Map<string, string>();
  const state: UploadState = { file: null, tooLarge: false };

  parser.on('field', (name, value) => fields.set(name, value));
  parser.on('file', (name, stream, info) => {
    if (name !== 'file' || state.file !== null) {
      stream.resume(); // only the first `file` part is stored; others are drained
      return;
    }
    const tmpPath = path.join(tmpDir, `upload-${randomBytes(8).toString('hex')}`);
    const out = createWriteStream(tmpPath);
    stream.on('limit', () => {
      state.tooLarge = true;
    });
    const writing = pipeline(stream, out).then(() => out.bytesWritten);
    writing.catch(() => undefined); // observed below; this only keeps an early failure from being "unhandled"
    state.file = { tmpPath, filename: info.filename ?? '', writing };
  });

  try {
    // Busboy finishes only after every file part has ended, so all fields and parts are known here.
    await pipeline(req, parser);
    const received = state.file;
    const bytes = received ? await received.writing : 0;
    if (state.tooLarge) throw badRequest('File is too large.', 'file');
    return { fields, file: received ? { tmpPath: received.tmpPath, filename: received.filename, bytes } : null };
  } catch (err) {
    const received = state.file;
    if (received) {
      await received.writing.catch(() => undefined);
      await fs.rm(received.tmpPath, { force: true });
    }
    if (err instanceof ApiError) throw err;
    throw badRequest(`Could not parse the multipart form: ${err instanceof Error ? err.message : String(err)}`);
  }
}
