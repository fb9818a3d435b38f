/** How `openai` SDK errors are classified: retry, wait for retry-after, or fail at once; and what the message says. */
import OpenAI from 'openai';
import { retryAfterMs, scrub, secretsOf } from '../../src/providers/http-errors';
import { providerInfo } from '../../src/providers/definition';
import { openai } from '../../src/providers/openai';
import { openAICalls } from '../../src/providers/openai/errors';
import { FetchFailure } from '../../src/providers/streaming-fetch';
import { ProviderError } from '../../src/providers/types';

const { toProviderError } = openAICalls(providerInfo(openai));

function apiError(status: number, headers: Record<string, string> = {}, error: Record<string, unknown> = { message: `status ${status}`, type: 'x', param: null, code: null }) {
  return OpenAI.APIError.generate(status, { error }, undefined, new Headers({ 'content-type': 'application/json', ...headers }));
}

test.each<[number, string]>([
  [400, 'invalid_request'],
  [401, 'auth'],
  [403, 'permission'],
  [404, 'not_found'],
  [408, 'transient'],
  [409, 'transient'],
  [413, 'invalid_request'],
  [422, 'invalid_request'],
  [429, 'rate_limited'],
  [500, 'transient'],
  [502, 'transient'],
  [503, 'transient'],
])('HTTP %i is %s', (status, kind) => {
  const err = toProviderError(apiError(status), 'create batch') as ProviderError;
  expect(err).toBeInstanceOf(ProviderError);
  expect(err.kind).toBe(kind);
  expect(err.status).toBe(status);
  expect(err.message).toMatch(/^create batch: /);
  expect(err.retryable).toBe(['transient', 'rate_limited'].includes(kind));
});

/** A network failure as streamingFetch reports it, wrapped the way the SDK wraps it. */
function connectionError(code: string, message: string, url = 'https://api.example.test/v1/files?purpose=batch') {
  const cause = Object.assign(new Error(message), { code });
  return new OpenAI.APIConnectionError({ cause: new FetchFailure('GET', new URL(url), cause) });
}

test.each<[string, string, string, RegExp]>([
  ['ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.1:443', 'unreachable', /cannot connect to https:\/\/api\.example\.test\/v1\/files \(connection refused, ECONNREFUSED\)\. Is the provider's base URL right\? \(set by apiBase \/ --api-base, or OPENAI_BASE_URL on the worker\)$/],
  ['ECONNRESET', 'socket hang up', 'unreachable', /the connection closed before an answer \(socket hang up, ECONNRESET\)/],
  ['ECONNRESET', 'read ECONNRESET', 'unreachable', /\(connection reset, ECONNRESET\)/],
  ['EPIPE', 'write EPIPE', 'unreachable', /\(connection closed while sending, EPIPE\)/],
  ['ETIMEDOUT', 'connect ETIMEDOUT 10.0.0.1:443', 'unreachable', /cannot connect to .* \(connection timed out, ETIMEDOUT\)/],
  ['EHOSTUNREACH', 'connect EHOSTUNREACH 10.0.0.1:443', 'unreachable', /\(host unreachable, EHOSTUNREACH\)/],
  ['EAI_AGAIN', 'getaddrinfo EAI_AGAIN api.example.test', 'unreachable', /DNS lookup of "api\.example\.test" failed for now \(EAI_AGAIN\)/],
  ['ENOTFOUND', 'getaddrinfo ENOTFOUND api.example.test', 'bad_endpoint', /: https:\/\/api\.example\.test\/v1\/files: unknown host "api\.example\.test" \(ENOTFOUND\)\. Check the base URL/],
  ['CERT_HAS_EXPIRED', 'certificate has expired', 'bad_endpoint', /TLS certificate refused \(CERT_HAS_EXPIRED: certificate has expired\)\. Check the base URL .*NODE_EXTRA_CA_CERTS/],
  ['SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain', 'bad_endpoint', /TLS certificate refused \(SELF_SIGNED_CERT_IN_CHAIN: /],
  ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate', 'bad_endpoint', /TLS certificate refused \(UNABLE_TO_VERIFY_LEAF_SIGNATURE: /],
  ['ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames: Host: api.example.test. is not in the cert's altnames: DNS:other.test", 'bad_endpoint', /TLS certificate refused \(ERR_TLS_CERT_ALTNAME_INVALID: Hostname\/IP does not match/],
  ['ERR_SSL_WRONG_VERSION_NUMBER', 'C0F7:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../ssl/record/ssl3_record.c:354:', 'bad_endpoint', /TLS handshake failed \(ERR_SSL_WRONG_VERSION_NUMBER: wrong version number\)\. The server does not speak TLS there: use http:\/\//],
  ['EPROTO', 'write EPROTO C0F7:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../ssl/record/ssl3_record.c:354:\n', 'bad_endpoint', /TLS handshake failed \(EPROTO: wrong version number\)/],
  ['EWHATEVER', 'something odd', 'transient', /GET https:\/\/api\.example\.test\/v1\/files failed before an answer \(EWHATEVER: something odd\)/],
])('%s (%s) is %s', (code, message, kind, pattern) => {
  const err = toProviderError(connectionError(code, message), 'upload input') as ProviderError;
  expect(err).toBeInstanceOf(ProviderError);
  expect(err.kind).toBe(kind);
  expect(err.status).toBeNull();
  expect(err.url).toBe('https://api.example.test/v1/files');
  expect(err.message).toMatch(/^upload input: /);
  expect(err.message).toMatch(pattern);
  expect(err.message).not.toContain('purpose=');
  expect(err.message).not.toMatch(/\n|\.c:\d+/);
});

test('a connection error without details is still unreachable', () => {
  const err = toProviderError(new OpenAI.APIConnectionError({ message: 'socket hang up' }), 'retrieve batch') as ProviderError;
  expect(err.kind).toBe('unreachable');
  expect(err.retryable).toBe(true);
  expect(err.message).toMatch(/^retrieve batch: no answer from the provider \(socket hang up\)/);
  const timeout = toProviderError(new OpenAI.APIConnectionTimeoutError(), 'retrieve batch') as ProviderError;
  expect(timeout.kind).toBe('unreachable');
  expect(timeout.message).toMatch(/^retrieve batch: no answer from the provider \(the client's timeout\)/);
});

test('429 carries the retry-after delay', () => {
  expect((toProviderError(apiError(429, { 'retry-after': '7' }), 'x') as ProviderError).retryAfterMs).toBe(7000);
  expect(retryAfterMs(new Headers({ 'retry-after-ms': '250' }))).toBe(250);
  expect(retryAfterMs(new Headers({ 'retry-after': new Date(10_000).toUTCString() }), 4_000)).toBe(6_000);
  expect(retryAfterMs(new Headers({}))).toBeNull();
});

test('a 404 that is not the API (HTML, or "Invalid URL") is a bad endpoint; a model 404 names the model', () => {
  const html = OpenAI.APIError.generate(404, undefined, '<html><title>Not Found</title></html>', new Headers({ 'content-type': 'text/html; charset=utf-8' }));
  expect((toProviderError(html, 'list files') as ProviderError).kind).toBe('bad_endpoint');
  const invalid = apiError(404, {}, { message: 'Invalid URL (GET /files)', type: 'invalid_request_error', param: null, code: null });
  expect((toProviderError(invalid, 'list files') as ProviderError).kind).toBe('bad_endpoint');
  const model = apiError(404, {}, { message: 'The model `gpt-9` does not exist or you do not have access to it.', type: 'invalid_request_error', param: null, code: 'model_not_found' });
  const err = toProviderError(model, 'create batch') as ProviderError;
  expect(err.kind).toBe('not_found');
  expect(err.message).toMatch(/^create batch: OpenAI does not know the model "gpt-9"/);
  const nginx = OpenAI.APIError.generate(400, undefined, '<html><head><title>400 The plain HTTP request was sent to HTTPS port</title></head></html>', new Headers({ 'content-type': 'text/html' }));
  const mixup = toProviderError(nginx, 'list files') as ProviderError;
  expect(mixup.kind).toBe('bad_endpoint');
  expect(mixup.message).toContain('the server speaks https there, so use https:// in the base URL');
  // A JSON 404 of a foreign shape (an OpenAI-compatible server) is a plain not found, not a bad endpoint.
  const foreign = OpenAI.APIError.generate(404, { detail: 'Not Found' }, undefined, new Headers({ 'content-type': 'application/json' }));
  expect((toProviderError(foreign, 'retrieve batch') as ProviderError).kind).toBe('not_found');
});

test('a provider echoing the key never gets it into the message', () => {
  const key = 'sk-proj-AbCdEf0123456789xyz';
  const err = toProviderError(apiError(403, {}, { message: `Key ${key} may not. Authorization: Bearer ${key}`, type: 'x', param: null, code: 'permission_denied' }), 'create batch') as ProviderError;
  expect(err.kind).toBe('permission');
  expect(err.message).not.toContain(key);
  expect(err.message).not.toContain('AbCdEf');
  expect(scrub(`a custom-secret-value and Bearer abc.def-123`, secretsOf('custom-secret-value', undefined))).toBe('a *** and Bearer ***');
  expect(secretsOf('k-123456', { defaultHeaders: { 'x-token': 'tok-abcdef' }, timeout: 5 })).toEqual(['k-123456', 'tok-abcdef']);
});

test('an answer cut off while read is transient; other errors that are not from the SDK pass through unchanged', () => {
  const cut = toProviderError(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }), 'retrieve batch') as ProviderError;
  expect(cut).toBeInstanceOf(ProviderError);
  expect(cut.kind).toBe('transient');
  const err = new Error('disk full');
  expect(toProviderError(err, 'x')).toBe(err);
  // A request body that cannot be read is a local problem: it leaves the SDK wrapper, code intact.
  const local = Object.assign(new Error('ENOENT: no such file or directory'), { code: 'ENOENT' });
  expect(toProviderError(new OpenAI.APIConnectionError({ cause: local }), 'upload input')).toBe(local);
});

test('an unparseable base URL is a bad endpoint', () => {
  const err = toProviderError(Object.assign(new TypeError('Invalid URL'), { code: 'ERR_INVALID_URL', input: 'not a url' }), 'list files') as ProviderError;
  expect(err.kind).toBe('bad_endpoint');
  expect(err.message).toBe('list files: the OpenAI base URL is not a valid URL (ERR_INVALID_URL). Check the base URL (set by apiBase / --api-base, or OPENAI_BASE_URL on the worker).');
});
