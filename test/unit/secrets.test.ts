/** Per-batch credentials are sealed for Temporal and only readable with the same key, for the same batch. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { keyId, redact, seal, secretKey, unseal } from '../../src/secrets';

const BATCH = { batchId: 'ab_1', provider: 'openai', apiBase: null };

test('sealed credentials round-trip and hold no plain text', () => {
  const key = crypto.randomBytes(32);
  const sealed = seal({ apiKey: 'sk-abc123456789', clientArgs: { organization: 'org-1' } }, BATCH, key);
  expect(sealed).toMatch(new RegExp(`^v2:${keyId(key)}:`));
  expect(sealed).not.toContain('sk-abc');
  expect(Buffer.from(sealed.slice(12), 'base64').toString('latin1')).not.toContain('sk-abc');
  expect(unseal(sealed, BATCH, key)).toEqual({ apiKey: 'sk-abc123456789', clientArgs: { organization: 'org-1' } });
});

test('another key cannot unseal, and says which setting to align', () => {
  const sealed = seal({ apiKey: 'sk-1' }, BATCH, crypto.randomBytes(32));
  expect(() => unseal(sealed, BATCH, crypto.randomBytes(32))).toThrow(/ANYBATCH_SECRET_KEY/);
});

test('without ANYBATCH_SECRET_KEY a key file is created once in ANYBATCH_HOME with mode 0600', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-secret-'));
  const saved = { home: process.env.ANYBATCH_HOME, key: process.env.ANYBATCH_SECRET_KEY };
  process.env.ANYBATCH_HOME = home;
  delete process.env.ANYBATCH_SECRET_KEY;
  try {
    const k1 = secretKey();
    const k2 = secretKey();
    expect(k1.equals(k2)).toBe(true);
    expect(fs.statSync(path.join(home, 'secret.key')).mode & 0o777).toBe(0o600);
    process.env.ANYBATCH_SECRET_KEY = crypto.randomBytes(32).toString('hex');
    expect(secretKey().equals(k1)).toBe(false);
    process.env.ANYBATCH_SECRET_KEY = 'too-short';
    expect(() => secretKey()).toThrow(/32 bytes/);
  } finally {
    process.env.ANYBATCH_HOME = saved.home;
    if (saved.key === undefined) delete process.env.ANYBATCH_SECRET_KEY;
    else process.env.ANYBATCH_SECRET_KEY = saved.key;
    fs.rmSync(home, { recursive: true, force: true });
  }
});

test('redact hides the API key and string client args in messages', () => {
  expect(redact('401: Incorrect API key provided: sk-abcdef123', { apiKey: 'sk-abcdef123' })).toBe('401: Incorrect API key provided: ***');
  expect(redact('header x-token=secret-token-1 rejected', { clientArgs: { token: 'secret-token-1' } })).toBe('header x-token=*** rejected');
});
