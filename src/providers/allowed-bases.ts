/**
 * Where the worker's own provider key may go. A batch with no `apiKey` of its own is sent with the worker's key
 * (`OPENAI_API_KEY`, ...), so its `apiBase` must be null (the provider's default), the provider's own base URL
 * (`defaultBaseURL` of its definition), the base URL the operator set in the provider's variable on this process
 * (`OPENAI_BASE_URL`, `AZURE_OPENAI_ENDPOINT`, ...), or under an entry of `ANYBATCH_ALLOWED_API_BASES`
 * (comma-separated URL prefixes). Any other base URL needs the caller's own key.
 *
 * Prefixes are compared after URL normalisation: scheme, host and port equal (default ports, case of scheme and
 * host, dot segments normalised by WHATWG URL parsing), and the path a prefix on a segment boundary:
 * `http://127.0.0.1:8080/v1` allows `http://127.0.0.1:8080/v1/` and `.../v1/x`, not `.../v10`.
 *
 * Checked twice: by the client at `createBatch` (its own environment, a `UsageError`) and by the worker before
 * any provider call (non-retryable `api_base_not_allowed`).
 */
import { providerDefinition } from './registry';
import { safeUrl } from './streaming-fetch';

export const ALLOWED_API_BASES_ENV = 'ANYBATCH_ALLOWED_API_BASES';

interface Base {
  protocol: string;
  hostname: string;
  port: string;
  /** Path segments, without empty ones (a trailing `/` is the same base). */
  segments: string[];
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' };

function parse(url: string): Base | null {
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  return {
    protocol: u.protocol,
    hostname: u.hostname,
    port: u.port || DEFAULT_PORTS[u.protocol]!,
    segments: u.pathname.split('/').filter((s) => s !== ''),
  };
}

/** Whether `candidate` is at or under the base URL `prefix` (see the header). */
export function baseAllows(prefix: string, candidate: string): boolean {
  const p = parse(prefix);
  const c = parse(candidate);
  if (!p || !c) return false;
  if (p.protocol !== c.protocol || p.hostname !== c.hostname || p.port !== c.port) return false;
  return p.segments.length <= c.segments.length && p.segments.every((s, i) => c.segments[i] === s);
}

/** The entries of ANYBATCH_ALLOWED_API_BASES. */
export function allowedApiBases(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env[ALLOWED_API_BASES_ENV] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Every base URL the worker's own key of `provider` may go to, in this environment. */
export function allowedBasesFor(provider: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const definition = providerDefinition(provider);
  const own = [definition.defaultBaseURL, env[definition.env.baseURL]?.trim() || null].filter((b): b is string => typeof b === 'string' && b !== '');
  return [...own, ...allowedApiBases(env)];
}

/**
 * Why a batch of `provider` at `apiBase` may not run here, or null when it may: it carries its own key
 * (`ownKey`), or its base URL is null or allowed. The message names the base URL (without credentials or query)
 * and says what to do.
 */
export function apiBaseRefusal(provider: string, apiBase: string | null | undefined, ownKey: boolean, env: NodeJS.ProcessEnv = process.env): string | null {
  if (ownKey || apiBase === null || apiBase === undefined) return null;
  if (allowedBasesFor(provider, env).some((prefix) => baseAllows(prefix, apiBase))) return null;
  const { label, env: vars } = providerDefinition(provider);
  return (
    `apiBase ${safeUrl(apiBase)} is not ${label}'s own base URL nor under an entry of ${ALLOWED_API_BASES_ENV}, and the batch has no apiKey ` +
    `of its own, so the worker would send its own ${vars.apiKey} there. Pass the key for that server (apiKey; CLI: --api-key-file), ` +
    `or let the worker's key go there by adding the base URL to ${ALLOWED_API_BASES_ENV} (comma-separated, on the clients and the workers).`
  );
}
