/**
 * The prepared-input reference as the workflow keeps it (src/workflows/prepared.ts): every shape a history may
 * hold becomes the typed reference, and parts carried over in the old shape keep what they stood for.
 */
import { PREPARED_INLINE, preparedFile, preparedFileId, requirePreparedFile, ProviderError } from '../../src/providers/types';
import { preparedOf } from '../../src/contract/prepared';
import { restoreParts } from '../../src/workflows/legacy/prepared';
import type { PartState } from '../../src/workflows/legacy/shared';

const part = (extra: Record<string, unknown>) =>
  ({ index: 0, path: '/in.jsonl', requestCount: 3, bytes: 30, batch: null, cancelSent: false, error: null, results: null, ...extra }) as unknown as PartState;
const batch = { id: 'b1', status: 'in_progress' };

describe('preparedOf: what uploadPart returned, in any generation', () => {
  test.each([
    ['a typed file reference', preparedFile('file-1'), { kind: 'file', fileId: 'file-1' }],
    ['a typed inline reference', PREPARED_INLINE, { kind: 'inline' }],
    ['a legacy { fileId } with a file', { fileId: 'file-2' }, { kind: 'file', fileId: 'file-2' }],
    ['a legacy { fileId: null } (inline)', { fileId: null }, { kind: 'inline' }],
    ['a legacy empty file id', { fileId: '' }, { kind: 'inline' }],
  ])('%s', (_what, recorded, expected) => {
    expect(preparedOf(recorded as Parameters<typeof preparedOf>[0])).toEqual(expected);
  });
});

describe('restoreParts: state carried across continue-as-new', () => {
  test('a part with a legacy file id gets a file reference and loses fileId', () => {
    const [p] = restoreParts([part({ fileId: 'file-9', batch })]);
    expect(p.prepared).toEqual({ kind: 'file', fileId: 'file-9' });
    expect(p).not.toHaveProperty('fileId');
  });
  test('a legacy inline part with a provider batch was prepared; one without a batch is prepared again', () => {
    const [created, pending] = restoreParts([part({ fileId: null, batch }), part({ index: 1, fileId: null })]);
    expect(created.prepared).toEqual({ kind: 'inline' });
    expect(pending.prepared).toBeNull();
  });
  test("today's parts are kept as they are", () => {
    const today = part({ prepared: preparedFile('file-3') });
    expect(restoreParts([today])[0]).toBe(today);
    const notYet = part({ prepared: null });
    expect(restoreParts([notYet])[0]).toBe(notYet);
  });
});

describe('reading a reference in an adapter', () => {
  test('preparedFileId is the file id or null', () => {
    expect(preparedFileId(preparedFile('f'))).toBe('f');
    expect(preparedFileId(PREPARED_INLINE)).toBeNull();
    expect(preparedFileId(null)).toBeNull();
  });
  test('requirePreparedFile refuses a reference that is no file, naming the provider and the kind', () => {
    expect(requirePreparedFile(preparedFile('f'), 'OpenAI')).toBe('f');
    const err = (() => {
      try {
        return requirePreparedFile(PREPARED_INLINE, 'Mistral');
      } catch (e) {
        return e;
      }
    })() as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe('invalid_request');
    expect(err.message).toBe('Mistral batches need an uploaded input file (got a reference of kind "inline").');
  });
});
