/**
 * xAI's batches as a pure function of the clock (docs/provider-apis-2.md section 8). A batch is created from an
 * uploaded OpenAI-format JSONL file; its requests become known after the validation time (`num_requests` is 0
 * before), then run at the sandbox's rate. There is no status: a batch is done when nothing is pending, cancelled
 * when `cancel_time` is set (the requests still pending become `num_cancelled` after the cancelling time), expired
 * when `expire_time` passed with requests pending (they stay pending). Results exist for the requests that ran.
 */
import { randomUUID } from 'node:crypto';
import { REQUEST_FAULT_MESSAGE, requestFaulted, type RequestFault } from '../../kernel/faults';
import { isPlainObject } from '../../kernel/http';
import { readInputLines } from '../../kernel/jsonl';
import { RecordBook } from '../../kernel/store';
import { respond } from '../openai/responder';
import { grpcCode } from './errors';

const DAY_S = 24 * 3600;
/** gRPC INTERNAL: how xAI reports a server error of one request. */
const GRPC_INTERNAL = 13;

export interface XaiTiming {
  validationMs: number;
  cancellingMs: number;
  rate: number;
}

export interface XaiRequest {
  customId: string;
  url: string;
  body: Record<string, unknown> | null;
  /** Why the request fails whatever it asks (a forced failure, an unknown model, a malformed line); null otherwise. */
  failure: { code: number; message: string } | null;
}

export interface XaiBatchRecord {
  id: string;
  name: string;
  inputFileId: string;
  createdMs: number;
  expireMs: number;
  cancelMs: number | null;
  requests: XaiRequest[];
  /** `failedBefore[i]`: requests among the first i that fail. */
  failedBefore: Uint32Array;
}

export interface XaiBatchJson {
  batch_id: string;
  name: string;
  create_time: string;
  expire_time: string;
  cancel_time: string | null;
  cancel_by_xai_message: string | null;
  state: { num_requests: number; num_pending: number; num_success: number; num_error: number; num_cancelled: number };
}

export type XaiResultJson = {
  batch_request_id: string;
  batch_result: { response: Record<string, unknown> } | { error: { code: number; message: string } };
  error_message: string | null;
};

/** The status the sandbox counts a batch under in its stats (xAI itself has none). */
export type DerivedStatus = 'validating' | 'in_progress' | 'completed' | 'cancelling' | 'cancelled' | 'expired';

const iso = (ms: number): string => new Date(ms).toISOString();

/** The key a success's response is under, by the line's url (section 8 names `chat_get_completion`). */
function responseKey(url: string): string {
  return url === '/v1/chat/completions' ? 'chat_get_completion' : url === '/v1/responses' ? 'response' : 'completion';
}

export interface CreateFaults {
  failValidation?: boolean;
  expireAfterSeconds?: number;
  models?: string[];
  /** The batch's request fault (drawn at create): the requests it fails end with an INTERNAL error. */
  requestFault?: RequestFault | null;
}

export class XaiBatchStore {
  readonly book: RecordBook<XaiBatchRecord>;

  constructor(
    now: () => number,
    private readonly timing: XaiTiming,
    private readonly maxRequests: number,
  ) {
    this.book = new RecordBook(now);
  }

  now(): number {
    return this.book.now();
  }

  /** Reads the input file's requests; a file over the request limit is refused by the caller (400). */
  async readRequests(path: string, faults: CreateFaults): Promise<XaiRequest[]> {
    const requests: XaiRequest[] = [];
    for await (const { line, text } of readInputLines(path)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        continue; // no custom_id to report it under
      }
      if (!isPlainObject(parsed) || typeof parsed.custom_id !== 'string') continue;
      const body = isPlainObject(parsed.body) ? parsed.body : null;
      const url = typeof parsed.url === 'string' ? parsed.url : '';
      let failure: XaiRequest['failure'] = null;
      if (faults.failValidation) failure = { code: 3, message: 'Batch request failed validation (injected by the sandbox failValidation fault).' };
      else if (body === null) failure = { code: 3, message: `Line ${line}: the request has no body.` };
      else if (url !== '/v1/chat/completions' && url !== '/v1/responses') failure = { code: 3, message: `Line ${line}: unsupported url ${JSON.stringify(url)}.` };
      else if (faults.models && typeof body.model === 'string' && !faults.models.includes(body.model)) {
        failure = { code: 5, message: `The model ${body.model} does not exist or your team does not have access to it.` };
      }
      requests.push({ customId: parsed.custom_id, url, body, failure });
      if (requests.length > this.maxRequests) break;
    }
    return requests;
  }

  create(input: { name: string; inputFileId: string; requests: XaiRequest[] }, faults: CreateFaults): XaiBatchRecord {
    const createdMs = this.now();
    const fault = faults.requestFault ?? null;
    const requests = input.requests.map((r, i) => (r.failure === null && requestFaulted(fault, i) ? { ...r, failure: { code: GRPC_INTERNAL, message: REQUEST_FAULT_MESSAGE } } : r));
    const failedBefore = new Uint32Array(requests.length + 1);
    requests.forEach((request, i) => {
      failedBefore[i + 1] = failedBefore[i] + (this.outcome(request, `${i}`, 0).error ? 1 : 0);
    });
    const record: XaiBatchRecord = {
      id: `batch_${randomUUID()}`,
      name: input.name,
      inputFileId: input.inputFileId,
      createdMs,
      expireMs: createdMs + (faults.expireAfterSeconds ?? DAY_S) * 1000,
      cancelMs: null,
      requests,
      failedBefore,
    };
    this.book.add(record.id, record, createdMs);
    return record;
  }

  /** Requests run by time `t`. */
  processed(batch: XaiBatchRecord, t: number): number {
    const startMs = batch.createdMs + this.timing.validationMs;
    const until = Math.min(t, batch.cancelMs ?? Infinity, batch.expireMs);
    return Math.min(batch.requests.length, Math.max(0, Math.floor(((until - startMs) * this.timing.rate) / 1000)));
  }

  status(batch: XaiBatchRecord, t = this.now()): DerivedStatus {
    const json = this.toJson(batch, t);
    const s = json.state;
    if (batch.cancelMs !== null) return s.num_pending === 0 ? 'cancelled' : 'cancelling';
    if (s.num_pending === 0 && s.num_requests > 0) return 'completed';
    if (t >= batch.expireMs) return 'expired';
    return s.num_requests === 0 ? 'validating' : 'in_progress';
  }

  /** Whether a cancel can still change anything: requests are pending (or not yet known) and it did not expire. */
  cancellable(batch: XaiBatchRecord, t = this.now()): boolean {
    const status = this.status(batch, t);
    return status === 'validating' || status === 'in_progress';
  }

  cancel(batch: XaiBatchRecord): void {
    batch.cancelMs ??= this.now();
  }

  toJson(batch: XaiBatchRecord, t = this.now()): XaiBatchJson {
    const total = batch.requests.length;
    const known = t >= batch.createdMs + this.timing.validationMs || (batch.cancelMs !== null && t >= batch.cancelMs + this.timing.cancellingMs);
    const processed = this.processed(batch, t);
    const errors = batch.failedBefore[processed];
    const cancelledDone = batch.cancelMs !== null && t >= batch.cancelMs + this.timing.cancellingMs;
    const unrun = total - processed;
    return {
      batch_id: batch.id,
      name: batch.name,
      create_time: iso(batch.createdMs),
      expire_time: iso(batch.expireMs),
      cancel_time: batch.cancelMs === null ? null : iso(batch.cancelMs),
      cancel_by_xai_message: null,
      state: known
        ? {
            num_requests: total,
            num_pending: cancelledDone ? 0 : unrun,
            num_success: processed - errors,
            num_error: errors,
            num_cancelled: cancelledDone ? unrun : 0,
          }
        : { num_requests: 0, num_pending: 0, num_success: 0, num_error: 0, num_cancelled: 0 },
    };
  }

  /** The stand-in model's answer to request `request` (stable: `key` names it), as xAI's result fields. */
  private outcome(request: XaiRequest, key: string, created: number): { error: { code: number; message: string } | null; response: Record<string, unknown> | null } {
    if (request.failure) return { error: request.failure, response: null };
    const answer = respond(request.url, request.body ?? {}, { key, created });
    if (answer.statusCode < 200 || answer.statusCode >= 300) {
      const message = isPlainObject(answer.body.error) && typeof answer.body.error.message === 'string' ? answer.body.error.message : `Request failed with status ${answer.statusCode}.`;
      return { error: { code: grpcCode(answer.statusCode), message }, response: null };
    }
    return { error: null, response: { [responseKey(request.url)]: answer.body } };
  }

  /** Results of the requests run by now, from the `offset`-th, at most `limit`. */
  results(batch: XaiBatchRecord, offset: number, limit: number): { results: XaiResultJson[]; next: number | null } {
    const t = this.now();
    const processed = this.processed(batch, t);
    const end = Math.min(processed, offset + limit);
    const results: XaiResultJson[] = [];
    const created = Math.floor((batch.createdMs + this.timing.validationMs) / 1000);
    for (let i = offset; i < end; i++) {
      const request = batch.requests[i];
      const { error, response } = this.outcome(request, `${batch.id}/${i}`, created);
      results.push(
        error
          ? { batch_request_id: request.customId, batch_result: { error }, error_message: error.message }
          : { batch_request_id: request.customId, batch_result: { response: response! }, error_message: null },
      );
    }
    return { results, next: end < processed ? end : null };
  }

  countByStatus(): Record<string, number> {
    const t = this.now();
    const counts: Record<string, number> = {};
    for (const batch of this.book.values()) {
      const status = this.status(batch, t);
      counts[status] = (counts[status] ?? 0) + 1;
    }
    return counts;
  }
}
