/** What every handler of one OpenAI-compatible module may use; built once per module. */
import type { Kernel } from '../../kernel/provider';
import type { ProviderLimits } from '../../kernel/limits';
import type { BatchStore } from './batches';
import type { OpenAIDialect } from './dialect';
import type { FileStore } from './files';

export interface OpenAIContext {
  kernel: Kernel;
  dialect: OpenAIDialect;
  files: FileStore;
  batches: BatchStore;
  /** The limits in force: `maxRequests`/`maxBytes` when set, else the catalog's or the dialect's. */
  limits: ProviderLimits;
  counters: { filesCreated: number; batchesCreated: number; batchCancels: number };
}
