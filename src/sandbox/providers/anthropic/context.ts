/** What every handler of the Anthropic module may use; built once per sandbox. */
import type { Kernel } from '../../kernel/provider';
import type { MessageBatchStore } from './store';

export interface AnthropicContext {
  kernel: Kernel;
  batches: MessageBatchStore;
  /** Largest create body accepted. */
  maxBytes: number;
  counters: { batchesCreated: number; batchCancels: number };
}
