/** `--wait`: follows a batch until it is terminal (the library's `waitForBatch`), with a live progress bar on a terminal. */
import type { AnybatchBatch } from '../contract/batch';
import { loadBatch } from '../api';
import type { ClientOptions } from '../api';
import { waitForBatch as waitForBatchApi } from '../wait';
import { progressLine, retryLine } from './format';

/** The bar, and under it the step being retried (if any). */
function render(batch: AnybatchBatch): string {
  const retry = retryLine(batch);
  return retry ? `${progressLine(batch)}\n${retry}` : progressLine(batch);
}

/**
 * Redraws the progress (the bar and the lines under it) in place on a terminal, where a retry's "next try in"
 * also counts down; elsewhere writes each new rendering once.
 */
function progressWriter(stream: NodeJS.WriteStream): { update(batch: AnybatchBatch): void; done(): void } {
  const tty = stream.isTTY === true;
  let last = '';
  let drawnLines = 0;
  let current: AnybatchBatch | null = null;
  const draw = (text: string) => {
    const up = drawnLines > 1 ? `\x1b[${drawnLines - 1}A` : '';
    stream.write(`\r${up}${text.split('\n').map((l) => l + '\x1b[K').join('\n')}\x1b[J`);
    drawnLines = text.split('\n').length;
    last = text;
  };
  const ticker = tty
    ? setInterval(() => {
        if (!current?.anybatch.retrying) return;
        const text = render(current);
        if (text !== last) draw(text);
      }, 1000)
    : null;
  ticker?.unref();
  return {
    update(batch) {
      current = batch;
      const text = render(batch);
      if (tty) draw(text);
      else if (text !== last) {
        stream.write(text + '\n');
        last = text;
      }
    },
    done() {
      if (ticker) clearInterval(ticker);
      if (tty && drawnLines > 0) stream.write('\n');
    },
  };
}

/**
 * While `createBatch` waits for the provider to accept a batch, writes each new failure of a retried step (the
 * step, the attempts, the error) to stderr, so a slow or failing provider is never silence.
 */
export function reportRetries(batchId: string, options: ClientOptions, intervalMs = 1000): { stop(): void } {
  let last = '';
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    loadBatch(batchId, options)
      .then((batch) => {
        const r = batch.anybatch.retrying;
        const key = r ? `${r.step}/${r.attempts}/${r.error}` : '';
        if (r && key !== last) process.stderr.write(`anybatch: ${r.step} failed (attempt ${r.attempts}), retrying: ${r.error}\n`);
        last = key;
      })
      .catch(() => undefined) // not started yet, or a passing glitch: the next tick tries again
      .finally(() => (busy = false));
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

export async function waitForBatch(batchId: string, options: ClientOptions, intervalMs = 1000): Promise<AnybatchBatch> {
  const progress = progressWriter(process.stderr);
  try {
    return await waitForBatchApi(null, batchId, { ...options, interval: intervalMs, onProgress: (batch) => progress.update(batch) });
  } finally {
    progress.done();
  }
}
