/**
 * Per-batch credentials (an `apiKey` or `clientArgs` given to `createBatch`) travel through Temporal
 * sealed with AES-256-GCM, so history, memo and the Web UI only ever hold ciphertext. Client and worker
 * share the key: `ANYBATCH_SECRET_KEY` (32 bytes, base64 or hex), or else `$ANYBATCH_HOME/secret.key`,
 * created with mode 0600 on first use (enough when client and worker share a machine or a volume).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { anybatchHome } from './config';
import { AnybatchError } from './errors';

export interface Credentials {
  apiKey?: string;
  clientArgs?: Record<string, unknown>;
}

const VERSION = 'v1';

function decodeKey(text: string, where: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) {
    throw new AnybatchError('bad_secret_key', `${where} must hold 32 bytes (base64 or hex); it holds ${key.length}.`);
  }
  return key;
}

export function secretKey(): Buffer {
  const fromEnv = process.env.ANYBATCH_SECRET_KEY;
  if (fromEnv) return decodeKey(fromEnv, 'ANYBATCH_SECRET_KEY');
  const file = path.join(anybatchHome(), 'secret.key');
  try {
    return decodeKey(fs.readFileSync(file, 'utf8'), file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  try {
    fs.writeFileSync(file, crypto.randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // another process made it first
  }
  return decodeKey(fs.readFileSync(file, 'utf8'), file);
}

export function seal(credentials: Credentials, key: Buffer = secretKey()): string {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(credentials), 'utf8'), cipher.final()]);
  return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
}

export function unseal(sealed: string, key: Buffer = secretKey()): Credentials {
  const [version, payload] = sealed.split(':');
  if (version !== VERSION || !payload) throw new AnybatchError('bad_credentials', 'Sealed credentials are malformed.');
  const raw = Buffer.from(payload, 'base64');
  try {
    const decipher = crypto.createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    const text = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    return JSON.parse(text) as Credentials;
  } catch {
    throw new AnybatchError(
      'bad_credentials',
      "Cannot decrypt this batch's credentials: the worker's secret key differs from the client's (set the same ANYBATCH_SECRET_KEY on both).",
    );
  }
}

/** Replaces every occurrence of the secrets in `text` (error messages can echo request data). */
export function redact(text: string, credentials: Credentials | undefined): string {
  let out = text;
  const values = [credentials?.apiKey, ...Object.values(credentials?.clientArgs ?? {}).filter((v): v is string => typeof v === 'string')];
  for (const v of values) if (v && v.length >= 6) out = out.split(v).join('***');
  return out;
}
