/**
 * Who is calling, from the request's bearer token: the scope their files and batches live in, and the provider
 * credentials their batches run with.
 *
 * - Open mode (no keys file): the bearer token is the caller's provider API key. It goes to the batch as its `apiKey`
 *   (sealed for that batch, never stored in clear) and the scope is a keyed hash of it (HMAC-SHA256 under the
 *   gateway's salt, kept in the store so every gateway instance agrees): callers see only what their key made.
 * - Keys file (`--keys FILE`): the gateway issues its own keys, each naming a tenant (the scope), the provider
 *   credentials the gateway holds for it, and default batch options; a caller never handles a provider key.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { checkOptionNames, COMMON_CREATE_OPTION_NAMES } from '../options';
import { providerDefinition, supportedProviders } from '../providers/registry';
import type { BlobStore } from '../storage';
import { unauthorized } from './errors';
import { readStoreText } from './store-json';

/** One provider's credentials held by the gateway for a tenant. */
export interface HeldCredentials {
  apiKey?: string;
  apiBase?: string;
}

export interface GatewayKey {
  /** The key callers send as `Authorization: Bearer <key>`. */
  key: string;
  /** The tenant: its files and batches are the scope of every key naming it. */
  tenant: string;
  /** Provider credentials, by provider name; a provider not listed runs with the worker's own credentials. */
  providers?: Record<string, HeldCredentials>;
  /** Default options of the tenant's batches (anybatch's `createBatch` options: `maxRequestsPerPart`, `retryFailed`, ...). */
  options?: Record<string, unknown>;
}

export interface Caller {
  /** The folder name of the caller's scope (a hash, or `t-<tenant>`). */
  scope: string;
  /** The provider credentials of the caller's batches (null: the worker's own). */
  credentials(provider: string): HeldCredentials | null;
  /** Default batch options. */
  options: Record<string, unknown>;
}

const TENANT = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Reads and checks a keys file: `{"keys": [{"key", "tenant", "providers"?, "options"?}]}`; problems name the file and entry. */
export function readKeysFile(file: string): GatewayKey[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`The keys file ${file} cannot be read as JSON: ${(err as Error).message}`);
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new Error(`The keys file ${file} has no "keys" list: {"keys": [{"key": "...", "tenant": "..."}]}.`);
  const seen = new Set<string>();
  return keys.map((entry: unknown, i: number) => {
    const where = `${file}: keys[${i}]`;
    const e = entry as Partial<GatewayKey> | null;
    if (!e || typeof e !== 'object') throw new Error(`${where} is not an object.`);
    if (typeof e.key !== 'string' || e.key.length < 16) throw new Error(`${where}.key must be a string of at least 16 characters.`);
    if (seen.has(e.key)) throw new Error(`${where}.key is listed twice.`);
    seen.add(e.key);
    if (typeof e.tenant !== 'string' || !TENANT.test(e.tenant)) throw new Error(`${where}.tenant must be 1 to 63 lowercase letters, digits, "_" or "-" (got ${JSON.stringify(e.tenant)}).`);
    if (e.providers !== undefined && (typeof e.providers !== 'object' || e.providers === null)) throw new Error(`${where}.providers must be an object of provider names.`);
    if (e.options !== undefined && (typeof e.options !== 'object' || e.options === null)) throw new Error(`${where}.options must be an object.`);
    if (e.options !== undefined) checkTenantOptions(e.options, file, i);
    return { key: e.key, tenant: e.tenant, ...(e.providers ? { providers: e.providers } : {}), ...(e.options ? { options: e.options } : {}) };
  });
}

/**
 * A tenant's options are `createBatch`'s: its common ones and any provider's own (a tenant may use one provider only).
 * A name of neither is the operator's mistake, said now (with the closest name), not as a 400 to each caller. A
 * provider's key and base URL are not options here: they go to every provider the tenant calls, so one provider's key
 * would reach another; they are held per provider (`providers.<name>`).
 */
function checkTenantOptions(options: Record<string, unknown>, file: string, i: number): void {
  const where = `${file}: keys[${i}]`;
  for (const name of ['apiKey', 'apiBase'] as const) {
    if (name in options) throw new Error(`${where}.options.${name}: a provider's key and base URL are held per provider, in keys[${i}].providers.<provider>.${name}, not in options (which every provider gets).`);
  }
  const known = [...new Set([...COMMON_CREATE_OPTION_NAMES, ...supportedProviders().flatMap((p) => providerDefinition(p).options.names)])];
  try {
    checkOptionNames(options, known, 'a tenant');
  } catch (err) {
    throw new Error(`${where}.options: ${(err as Error).message}`);
  }
}

const SALT_KEY = 'gateway/salt';

/** The gateway's salt for scope hashes: made once in the store, read by every instance. */
async function salt(store: BlobStore): Promise<Buffer> {
  const existing = await readStoreText(store, SALT_KEY);
  if (existing !== null) return Buffer.from(existing, 'hex');
  try {
    await store.put(SALT_KEY, crypto.randomBytes(32).toString('hex'), { ifNoneMatch: true });
  } catch {
    // Another instance made it first: theirs is the salt.
  }
  const made = await readStoreText(store, SALT_KEY);
  if (made === null) throw new Error(`The gateway's salt ${store.uri(SALT_KEY)} could not be written or read back.`);
  return Buffer.from(made, 'hex');
}

function bearer(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : null;
}

export class Callers {
  private saltValue: Promise<Buffer> | null = null;
  private readonly byKey: Map<string, GatewayKey> | null;

  constructor(
    private readonly store: BlobStore,
    keys: GatewayKey[] | null,
  ) {
    // Looked up by a digest of the key, so the map is never probed with secrets as strings.
    this.byKey = keys ? new Map(keys.map((k) => [digest(k.key), k])) : null;
  }

  async of(req: IncomingMessage): Promise<Caller> {
    const token = bearer(req);
    if (!token) throw unauthorized('You didn\'t provide an API key. Send it as "Authorization: Bearer <key>".');
    if (this.byKey) {
      const entry = this.byKey.get(digest(token));
      if (!entry) throw unauthorized('Incorrect API key provided. This gateway issues its own keys: ask its operator for one.');
      return { scope: `t-${entry.tenant}`, credentials: (provider) => entry.providers?.[provider] ?? null, options: entry.options ?? {} };
    }
    this.saltValue ??= salt(this.store);
    const scope = crypto.createHmac('sha256', await this.saltValue).update(token, 'utf8').digest('hex').slice(0, 32);
    return { scope: `k-${scope}`, credentials: () => ({ apiKey: token }), options: {} };
  }
}

function digest(key: string): string {
  return crypto.createHash('sha256').update(key, 'utf8').digest('hex');
}
