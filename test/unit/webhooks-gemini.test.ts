/**
 * Gemini's static webhook events in (src/webhooks/gemini.ts): the Standard Webhooks signature Google's page describes
 * (HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<body>` under the base64 key after `whsec_`, `v1,<base64>`), signed
 * here with node's own crypto, and the thin `{type, version, timestamp, data}` envelope.
 */
import crypto from 'node:crypto';
import { anybatchIdOfDisplayName, GeminiWebhookRefused, geminiBatchName, geminiVerifier, verifyGeminiEvent } from '../../src/webhooks/gemini';

const KEY = Buffer.from('gemini-webhook-signing-key-32by!');
const SECRET = `whsec_${KEY.toString('base64')}`;
const verifier = geminiVerifier(SECRET)!;
const now = () => Math.floor(Date.now() / 1000);

function sign(body: string, opts: { key?: Buffer; timestamp?: number; id?: string } = {}): Record<string, string> {
  const id = opts.id ?? `msg_${crypto.randomBytes(6).toString('hex')}`;
  const timestamp = opts.timestamp ?? now();
  const mac = crypto.createHmac('sha256', opts.key ?? KEY).update(`${id}.${timestamp}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': `v1,${mac}` };
}

const succeeded = JSON.stringify({
  type: 'batch.succeeded',
  version: 'v1',
  timestamp: '2026-01-22T12:00:00Z',
  data: { id: 'batch_123456', output_file_uri: 'gs://my-bucket/results.jsonl' },
});

function refusal(body: string, headers: Record<string, string | string[] | undefined>): string {
  try {
    verifyGeminiEvent(verifier, body, headers);
  } catch (err) {
    expect(err).toBeInstanceOf(GeminiWebhookRefused);
    return (err as Error).message;
  }
  throw new Error('the event was accepted');
}

describe('verifyGeminiEvent', () => {
  test('reads a correctly signed batch event: its type and data', () => {
    const event = verifyGeminiEvent(verifier, succeeded, sign(succeeded));
    expect(event).toEqual({ type: 'batch.succeeded', version: 'v1', timestamp: '2026-01-22T12:00:00Z', data: { id: 'batch_123456', output_file_uri: 'gs://my-bucket/results.jsonl' } });
    // Rotation: the header carries old and new signatures, one of them ours; node's header arrays are read too.
    const headers = sign(succeeded);
    headers['webhook-signature'] = `v1,${Buffer.alloc(32).toString('base64')} ${headers['webhook-signature']}`;
    expect(verifyGeminiEvent(verifier, succeeded, { ...headers, 'webhook-id': [headers['webhook-id']!] }).type).toBe('batch.succeeded');
    // The bare base64 secret (without whsec_) is the same key.
    expect(verifyGeminiEvent(geminiVerifier(KEY.toString('base64'))!, succeeded, sign(succeeded)).data.id).toBe('batch_123456');
  });

  test('refuses a bad signature: another secret, a changed body, another id, or none', () => {
    expect(refusal(succeeded, sign(succeeded, { key: Buffer.from('another-signing-key-of-32-bytes!') }))).toMatch(/signature refused/);
    const headers = sign(succeeded);
    expect(refusal(succeeded.replace('batch_123456', 'batch_654321'), headers)).toMatch(/signature refused/);
    expect(refusal(succeeded, { ...headers, 'webhook-id': 'msg_other' })).toMatch(/signature refused/);
    expect(refusal(succeeded, { 'webhook-id': headers['webhook-id'], 'webhook-timestamp': headers['webhook-timestamp'] })).toMatch(/signature refused/);
    expect(refusal(succeeded, {})).toMatch(/signature refused/);
  });

  test('refuses a stale or future timestamp, however well signed', () => {
    expect(refusal(succeeded, sign(succeeded, { timestamp: now() - 3600 }))).toMatch(/too old/);
    expect(refusal(succeeded, sign(succeeded, { timestamp: now() + 3600 }))).toMatch(/too new/);
    expect(refusal(succeeded, { ...sign(succeeded), 'webhook-timestamp': 'yesterday' })).toMatch(/signature refused/);
  });

  test('refuses a signed body that is not an event', () => {
    const cases: Array<[string, RegExp]> = [
      ['{not json', /not JSON/],
      ['[]', /not an event object/],
      ['"batch.succeeded"', /not an event object/],
      [JSON.stringify({ data: { id: 'batch_1' } }), /no type/],
      [JSON.stringify({ type: 'batch.failed' }), /no data object/],
      [JSON.stringify({ type: 'batch.expired', data: {} }), /names no batch/],
      [JSON.stringify({ type: 'batch.cancelled', data: { id: 42 } }), /names no batch/],
    ];
    for (const [body, reason] of cases) expect(refusal(body, sign(body))).toMatch(reason);
  });

  test('passes an event of another kind on (the receiver ignores it)', () => {
    const body = JSON.stringify({ type: 'video.generated', version: 'v1', timestamp: '2026-01-22T12:00:00Z', data: { file_name: 'files/x' } });
    expect(verifyGeminiEvent(verifier, body, sign(body)).type).toBe('video.generated');
  });
});

test('geminiVerifier takes whsec_ base64 only', () => {
  expect(geminiVerifier('')).toBeNull();
  expect(geminiVerifier('whsec_')).toBeNull();
  expect(geminiVerifier('whsec_not base64!')).toBeNull();
  expect(geminiVerifier(` ${SECRET} `)).not.toBeNull();
});

test('geminiBatchName reads the bare id and the resource name alike', () => {
  expect(geminiBatchName('batch_123456')).toBe('batches/batch_123456');
  expect(geminiBatchName('batches/abc-DEF_9')).toBe('batches/abc-DEF_9');
  expect(geminiBatchName('batches/')).toBeNull();
  expect(geminiBatchName('files/abc')).toBeNull();
  expect(geminiBatchName('../batches/abc')).toBeNull();
});

test("anybatchIdOfDisplayName reads anybatch's batch id from its display name, and nothing else", () => {
  expect(anybatchIdOfDisplayName('anybatch:batch_01J9/0#a1b2c3')).toBe('batch_01J9');
  expect(anybatchIdOfDisplayName('anybatch:batch_01J9/12#a1b2c3')).toBe('batch_01J9');
  expect(anybatchIdOfDisplayName('My Setup')).toBeNull();
  expect(anybatchIdOfDisplayName('anybatch:no-part#a1b2')).toBeNull();
  expect(anybatchIdOfDisplayName('anybatch:/0#a1b2')).toBeNull();
  expect(anybatchIdOfDisplayName(undefined)).toBeNull();
});
