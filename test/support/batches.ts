/** What the end-to-end suites check of a batch: waiting until it is terminal, and that its results account for every request. */
import { TERMINAL_STATUSES, retrieveBatch } from '../../src';
import type { AnybatchBatch, ClientOptions, ProviderName, ResultLine } from '../../src';
import { eventually, readJsonl } from './env';

/** Polls the batch until its status is terminal (fails the test after `timeoutMs`). */
export function untilTerminalBatch(provider: ProviderName, id: string, options: ClientOptions, timeoutMs = 90_000): Promise<AnybatchBatch> {
  return eventually(async () => {
    const b = await retrieveBatch(provider, id, options);
    return TERMINAL_STATUSES.includes(b.status) ? b : null;
  }, timeoutMs);
}

/** Every `custom_id` of `prefix-0 .. prefix-(n-1)` is in exactly one result file, and the counts match; returns both files' lines. */
export function accountFor(batch: AnybatchBatch, n: number, prefix = 'req'): { output: ResultLine[]; errors: ResultLine[] } {
  const files = batch.anybatch.results!;
  const output = readJsonl<ResultLine>(files.output_path);
  const errors = readJsonl<ResultLine>(files.errors_path);
  const ids = [...output, ...errors].map((l) => l.custom_id).sort();
  expect(ids).toEqual(Array.from({ length: n }, (_, i) => `${prefix}-${i}`).sort());
  expect(files.output_count).toBe(output.length);
  expect(files.errors_count).toBe(errors.length);
  return { output, errors };
}
