/**
 * Per-batch credentials (an `apiKey` or `clientArgs` given to `createBatch`) travel through Temporal
 * sealed with AES-256-GCM, so history, memo and the Web UI only ever hold ciphertext.
 *
 * Format `v2:<key id>:<base64(iv | tag | body)>`: 12-byte IV, 16-byte tag, and as associated data the batch the
 * value was sealed for (`{ batchId, provider, apiBase }`, see `associatedData`), so a sealed value copied from one
 * batch's history into another workflow (another batch id, provider or base URL) does not open. The key id is a
 * fingerprint of the key (`keyId`: 8 hex digits of a domain-separated SHA-256), never the key.
 *
 * Keys (32 bytes, base64 or hex), shared by clients and workers:
 * - `ANYBATCH_SECRET_KEYS`: a keyring, comma-separated. The first seals; every one opens the values sealed with it
 *   (by key id). To rotate: put the new key first, keep the old one after it until the batches sealed with it
 *   ended, then drop it.
 * - `ANYBATCH_SECRET_KEY`: one key (seals when ANYBATCH_SECRET_KEYS is unset; opens in either case).
 * - else the key file, created with mode 0600 on first use (enough when client and worker run as the same user on
 *   one machine, or share a volume): `$ANYBATCH_HOME/secret.key` when ANYBATCH_HOME is set, else
 *   `~/.anybatch/secret.key` (the user's home: the same file whatever the working directory). When a variable gives
 *   the keys, an existing key file still opens the values sealed with it. The file of earlier versions,
 *   `./.anybatch/secret.key` under the working directory, is read (never created) to open their values.
 *
 * `v1:<base64(iv | tag | body)>` values (sealed before key ids, with no associated data) still open, with whichever
 * configured key fits, so batches running across an upgrade keep their credentials.
 *
 * Errors say which key id is needed and where to add it; they never hold key material or the plaintext.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AnybatchError } from './errors';
import { safeUrl } from './providers/streaming-fetch';

export interface Credentials {
  apiKey?: string;
  clientArgs?: Record<string, unknown>;
}

/** The batch a sealed value belongs to: it opens for this batch id, provider and base URL only. */
export interface SealBinding {
  batchId: string;
  provider: string;
  /** The batch's `apiBase` as given (null: the provider's default). */
  apiBase: string | null;
}

/** A configured key and its id. */
export interface SecretKey {
  id: string;
  key: Buffer;
}

export const SECRET_KEYS_ENV = 'ANYBATCH_SECRET_KEYS';
export const SECRET_KEY_ENV = 'ANYBATCH_SECRET_KEY';

const V1 = 'v1';
const V2 = 'v2';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const V2_FORMAT = /^v2:([0-9a-f]{8}):([A-Za-z0-9+/]+={0,2})$/;

/** The binding of a batch's sealed credentials, from its spec. */
export function bindingOf(spec: { batchId: string; provider: string; connection: { apiBase: string | null } }): SealBinding {
  return { batchId: spec.batchId, provider: spec.provider, apiBase: spec.connection.apiBase ?? null };
}

/** A short stable fingerprint of `key` (8 hex digits), to name it in sealed values and messages. */
export function keyId(key: Buffer): string {
  return crypto.createHash('sha256').update('anybatch secret key id\0').update(key).digest('hex').slice(0, 8);
}

/** The associated data of a v2 value: a canonical encoding of its binding (fixed order, JSON-escaped). */
function associatedData(binding: SealBinding): Buffer {
  return Buffer.from(JSON.stringify(['anybatch credentials v2', binding.batchId, binding.provider, binding.apiBase ?? null]), 'utf8');
}

function decodeKey(text: string, where: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) {
    throw new AnybatchError('bad_secret_key', `${where} must hold 32 bytes (base64 or hex); it holds ${key.length}.`);
  }
  return key;
}

function entry(key: Buffer): SecretKey {
  return { id: keyId(key), key };
}

/** The default key file: `$ANYBATCH_HOME/secret.key` when ANYBATCH_HOME is set, else `~/.anybatch/secret.key`. */
export function secretKeyFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.ANYBATCH_HOME ? path.join(path.resolve(env.ANYBATCH_HOME), 'secret.key') : path.join(os.homedir(), '.anybatch', 'secret.key');
}

/** Where earlier versions kept the key when ANYBATCH_HOME was unset: under the working directory. */
function legacyKeyFile(env: NodeJS.ProcessEnv): string | null {
  return env.ANYBATCH_HOME ? null : path.resolve('.anybatch', 'secret.key');
}

/** The keys the environment gives, sealing key first (none: the key file decides). */
function envKeys(env: NodeJS.ProcessEnv): SecretKey[] {
  const keys: SecretKey[] = [];
  const list = env[SECRET_KEYS_ENV];
  if (list && list.trim() !== '') {
    const parts = list.split(',').map((p) => p.trim());
    parts.forEach((part, i) => {
      if (part !== '') keys.push(entry(decodeKey(part, `${SECRET_KEYS_ENV} (key ${i + 1} of ${parts.length})`)));
    });
  }
  const single = env[SECRET_KEY_ENV];
  if (single) keys.push(entry(decodeKey(single, SECRET_KEY_ENV)));
  return keys;
}

/** A key file's key, or null when there is none (a malformed file is an error only where it is the one key). */
function readKeyFile(file: string): Buffer | null {
  try {
    return decodeKey(fs.readFileSync(file, 'utf8'), file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** The default key file's key, created (mode 0600) when missing. */
function ensureKeyFile(file: string): Buffer {
  const existing = readKeyFile(file);
  if (existing) return existing;
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    fs.writeFileSync(file, crypto.randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // another process made it first
  }
  return decodeKey(fs.readFileSync(file, 'utf8'), file);
}

/** The key new values are sealed with: the first of ANYBATCH_SECRET_KEYS, else ANYBATCH_SECRET_KEY, else the key file. */
export function secretKey(env: NodeJS.ProcessEnv = process.env): Buffer {
  const keys = envKeys(env);
  return keys.length > 0 ? keys[0]!.key : ensureKeyFile(secretKeyFile(env));
}

/**
 * Every key this process can open values with (by id, duplicates dropped): the variables' keys, then the key file,
 * then the key file of earlier versions. Files are only read here, never created.
 */
export function secretKeys(env: NodeJS.ProcessEnv = process.env): SecretKey[] {
  const keys = envKeys(env);
  const files = [secretKeyFile(env), legacyKeyFile(env)].filter((f): f is string => f !== null);
  for (const [i, file] of files.entries()) {
    try {
      const key = readKeyFile(file);
      if (key) keys.push(entry(key));
    } catch (err) {
      // With no variable the default file is the one key: a broken one must say so. Otherwise it is only a spare.
      if (i === 0 && keys.length === 0) throw err;
    }
  }
  return keys.filter((k, i) => keys.findIndex((o) => o.key.equals(k.key)) === i);
}

function asEntries(keys: Buffer | Buffer[]): SecretKey[] {
  return (Array.isArray(keys) ? keys : [keys]).map(entry);
}

/** Seals `credentials` for the batch `binding` names (default key: `secretKey()`). */
export function seal(credentials: Credentials, binding: SealBinding, key: Buffer = secretKey()): string {
  const iv = crypto.randomBytes(IV_BYTES);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(binding));
  const body = Buffer.concat([cipher.update(JSON.stringify(credentials), 'utf8'), cipher.final()]);
  return `${V2}:${keyId(key)}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
}

/** The plaintext, or null when this key (or the associated data) does not fit. */
function open(raw: Buffer, key: Buffer, aad: Buffer | null): Credentials | null {
  if (raw.length < IV_BYTES + TAG_BYTES) return null;
  try {
    const decipher = crypto.createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    if (aad) decipher.setAAD(aad);
    const text = Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    return JSON.parse(text) as Credentials;
  } catch {
    return null;
  }
}

function describeKeys(keys: SecretKey[]): string {
  return keys.length === 0
    ? `this worker has no key (none of ${SECRET_KEYS_ENV}, ${SECRET_KEY_ENV} or a key file)`
    : `this worker has key id${keys.length === 1 ? '' : 's'} ${keys.map((k) => k.id).join(', ')}`;
}

/**
 * Opens the credentials sealed for the batch `binding` names, with `keys` (default: every configured key,
 * `secretKeys()`). Throws `bad_credentials` saying why: a key id this process does not have, a value sealed for
 * another batch (or altered), a malformed value.
 */
export function unseal(sealed: string, binding: SealBinding, keys?: Buffer | Buffer[]): Credentials {
  const ring = keys === undefined ? secretKeys() : asEntries(keys);
  const v2 = V2_FORMAT.exec(sealed);
  if (v2) {
    const [, id, payload] = v2;
    const candidates = ring.filter((k) => k.id === id);
    if (candidates.length === 0) {
      throw new AnybatchError(
        'bad_credentials',
        `Cannot open the credentials of batch ${binding.batchId}: they were sealed with key id ${id}, which this worker does not have: add it to ${SECRET_KEYS_ENV} (${describeKeys(ring)}).`,
      );
    }
    const raw = Buffer.from(payload!, 'base64');
    const aad = associatedData(binding);
    for (const k of candidates) {
      const credentials = open(raw, k.key, aad);
      if (credentials) return credentials;
    }
    const base = binding.apiBase === null ? "the provider's default base URL" : `apiBase ${safeUrl(binding.apiBase)}`;
    throw new AnybatchError(
      'bad_credentials',
      `Cannot open the credentials of batch ${binding.batchId}: these credentials were sealed for another batch (another batch id, provider or base URL than ${binding.provider} at ${base}), or were altered.`,
    );
  }
  const [version, payload, ...rest] = sealed.split(':');
  if (version === V1 && payload && rest.length === 0) {
    const raw = Buffer.from(payload, 'base64');
    for (const k of ring) {
      const credentials = open(raw, k.key, null);
      if (credentials) return credentials;
    }
    throw new AnybatchError(
      'bad_credentials',
      `Cannot open the credentials of batch ${binding.batchId}: they were sealed (before key ids) with a key this worker does not have; give it the client's key in ${SECRET_KEY_ENV} or ${SECRET_KEYS_ENV} (${describeKeys(ring)}).`,
    );
  }
  throw new AnybatchError('bad_credentials', `The sealed credentials of batch ${binding.batchId} are malformed.`);
}

/** Replaces every occurrence of the secrets in `text` (error messages can echo request data). */
export function redact(text: string, credentials: Credentials | undefined): string {
  let out = text;
  const values = [credentials?.apiKey, ...Object.values(credentials?.clientArgs ?? {}).filter((v): v is string => typeof v === 'string')];
  for (const v of values) if (v && v.length >= 6) out = out.split(v).join('***');
  return out;
}
