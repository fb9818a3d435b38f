/** `--wait`: follows a batch until it is terminal, with a live progress bar on a terminal. */
import type { AnybatchBatch } from '../batch';
import { isTerminal } from '../batch';
import { loadBatch } from '../api';
import type { ClientOptions } from '../api';
import { progressLine } from './format';

export async function waitForBatch(batchId: string, options: ClientOptions, intervalMs = 1000): Promise<AnybatchBatch> {
  const tty = process.stderr.isTTY === true;
  let last = '';
  for (;;) {
    const batch = await loadBatch(batchId, options);
    const line = progressLine(batch);
    if (tty) process.stderr.write(`\r${line}\x1b[K`);
    else if (line !== last) process.stderr.write(line + '\n');
    last = line;
    if (isTerminal(batch.status)) {
      if (tty) process.stderr.write('\n');
      return batch;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
