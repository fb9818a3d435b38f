/** Streams a request body to a temp file, so a 256 MB create body is never held in memory. */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, promises as fs } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { anthropicError } from './errors';

/** Returns the temp file's path (the caller removes it); a body over `maxBytes` is drained and refused with 413. */
export async function receiveBody(req: IncomingMessage, tmpDir: string, maxBytes: number): Promise<string> {
  const tmpPath = path.join(tmpDir, `message-batch-${randomBytes(8).toString('hex')}`);
  const out = createWriteStream(tmpPath);
  out.on('error', () => undefined); // surfaced by `finished` below; this keeps a write error from crashing the process
  let bytes = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      // Past the limit, keep reading without storing, so the client gets the 413 rather than a reset socket.
      if (bytes > maxBytes) continue;
      if (!out.write(chunk)) await once(out, 'drain');
    }
    out.end();
    await finished(out);
  } catch (err) {
    out.destroy();
    await finished(out).catch(() => undefined);
    await fs.rm(tmpPath, { force: true });
    throw err;
  }
  if (bytes > maxBytes) {
    await fs.rm(tmpPath, { force: true });
    throw anthropicError(413, `Request exceeds the maximum allowed number of bytes (${maxBytes}).`);
  }
  return tmpPath;
}
