/**
 * How an OpenAI-compatible provider differs from OpenAI: the settings the OpenAI emulation takes. OpenAI, Groq,
 * Azure OpenAI and the batch clouds (Nebius, DashScope, Moonshot, Cerebras) are each one of these (`index.ts`,
 * `../groq`, `../azureopenai`, ...), not copies of the emulation.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiError } from '../../kernel/http';
import type { ProviderLimits } from '../../kernel/limits';
import type { Handler, Route } from '../../kernel/provider';

export interface OpenAIDialect {
  name: string;
  /** What follows `<url>/<name>` in the base URL its SDK takes. */
  basePath: string;
  /** Where the Files and Batches API sits below the prefix (`/v1`); Azure serves it at two roots. */
  apiRoots: readonly string[];
  /** Defaults when the catalog does not list the provider and no `maxRequests`/`maxBytes` is set. */
  limits: ProviderLimits;
  /** `completion_window`: the seconds of an accepted value, or null; `accepted` describes them in the 400. */
  completionWindow: { seconds(value: string): number | null; accepted: string };
  /** `paged`: `limit`, `after` and `has_more`, as OpenAI; `all`: every batch in one `{object, data}` list (Groq's). */
  batchList: 'paged' | 'all';
  /** Output and error lines in a seeded shuffled order (no guaranteed order) instead of input order. */
  shuffleResults: boolean;
  /** Reads and checks the key (and anything else required on every request); `expected` is `--api-key`. */
  authenticate(req: IncomingMessage, path: string, url: URL, expected: string | null): void;
  sendError(res: ServerResponse, err: ApiError, requestId: string): void;
  requestIds: { headers: readonly string[]; next(): string };
  /** Routes beyond the Files and Batches API, served by the same handlers (Azure's deployment path). */
  extraRoutes?(handlers: OpenAIHandlers): Route[];
  /**
   * How the provider spells endpoints (absent: OpenAI's, `/v1/...`, which every line's `url` must equal): Azure's
   * `endpoint` and lines' `url` may leave out `/v1`, and its input file decides which API the batch runs.
   */
  endpoints?: EndpointSpelling;
  /** How a batch is cancelled: `POST /batches/{id}/cancel` (OpenAI's, the default) or `DELETE /batches/{id}` (Cerebras's). */
  cancel?: 'post' | 'delete';
  /** A validated batch waits in a `queued` status (as long as its validation took) before it runs (Cerebras). */
  queued?: boolean;
  /** Metadata values may be lists of strings as well as strings (Cerebras's `custom_tags`); default: strings only. */
  metadataLists?: boolean;
  /** Fewest requests a batch may hold; fewer fail it at validation (Cerebras: 10). Absent: one. */
  minRequestsPerBatch?: number;
}

export interface EndpointSpelling {
  /** The OpenAI endpoint (`/v1/...`) that `value` names at this provider, or null when it names none. */
  canonical(value: string): string | null;
  /** The values accepted, for the 400 of another one. */
  accepted: string;
  /** The input file decides the endpoint the batch runs on, whatever the create named (see `LineRules.fileDecides`). */
  fileDecides: boolean;
}

export interface OpenAIHandlers {
  createFile: Handler;
  listFiles: Handler;
  retrieveFile: Handler;
  deleteFile: Handler;
  fileContent: Handler;
  createBatch: Handler;
  listBatches: Handler;
  retrieveBatch: Handler;
  cancelBatch: Handler;
}

/** OpenAI's own rule: `24h` only. */
export const ONLY_24H: OpenAIDialect['completionWindow'] = {
  seconds: (value) => (value === '24h' ? 24 * 3600 : null),
  accepted: "Supported values are: '24h'.",
};
