/**
 * Error classes of the public API. Callers branch on `code` (or `instanceof`), never on message text.
 */

export class AnybatchError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** One problem found in an input file. `line` is 1-based; `field` names the JSON field when there is one. */
export interface InputIssue {
  line?: number;
  field?: string;
  message: string;
}

/** The input file is unusable. Nothing was started and no provider was called. */
export class InputValidationError extends AnybatchError {
  static readonly MAX_LISTED = 20;
  readonly file: string;
  /** The first issues found (at most `MAX_LISTED`), in line order. */
  readonly issues: InputIssue[];
  /** How many issues the whole file has. */
  readonly totalIssues: number;

  constructor(file: string, issues: InputIssue[], totalIssues = issues.length) {
    const listed = issues.slice(0, InputValidationError.MAX_LISTED);
    super('invalid_input', InputValidationError.format(file, listed, totalIssues));
    this.file = file;
    this.issues = listed;
    this.totalIssues = totalIssues;
  }

  private static format(file: string, issues: InputIssue[], total: number): string {
    const head = total === 1 ? `${file}: 1 problem` : `${file}: ${total} problems`;
    const lines = issues.map((i) => {
      const where = i.line !== undefined ? `line ${i.line}` : 'file';
      const field = i.field ? ` (${i.field})` : '';
      return `  ${where}${field}: ${i.message}`;
    });
    const more = total > issues.length ? [`  ... and ${total - issues.length} more`] : [];
    return [head, ...lines, ...more].join('\n');
  }
}

/** A caller passed an option or argument that cannot work (unknown provider, bad duration, ...). */
export class UsageError extends AnybatchError {
  constructor(message: string) {
    super('usage', message);
  }
}

/** `retrieveBatchResults` was called before the batch reached a terminal status. */
export class BatchNotCompleteError extends AnybatchError {
  readonly batchId: string;
  readonly status: string;
  constructor(batchId: string, status: string) {
    super('batch_not_complete', `Batch ${batchId} is ${status}; results are available once it is terminal.`);
    this.batchId = batchId;
    this.status = status;
  }
}

export class BatchNotFoundError extends AnybatchError {
  readonly batchId: string;
  constructor(batchId: string, provider?: string) {
    super('batch_not_found', `No batch ${batchId}${provider ? ` for provider ${provider}` : ''}.`);
    this.batchId = batchId;
  }
}

/**
 * The batch failed: the provider refused it, or a step failed for good. `message` carries the reason;
 * `batch` (when known) is the failed `Batch`, whose `anybatch.results` lists the result files (every request
 * is in errors.jsonl).
 */
export class BatchFailedError extends AnybatchError {
  readonly batchId: string;
  /** The failed batch, as last recorded (typed loosely here to keep this module free of the batch types). */
  readonly batch: import('./contract/batch').AnybatchBatch | null;
  constructor(batchId: string, message: string, batch: import('./contract/batch').AnybatchBatch | null = null) {
    super('batch_failed', message);
    this.batchId = batchId;
    this.batch = batch;
  }
}

/** Temporal could not be reached at `address` (fails within seconds; the message says how to point elsewhere). */
export class TemporalUnavailableError extends AnybatchError {
  readonly address: string;
  constructor(address: string, message: string, options?: { cause?: unknown }) {
    super('temporal_unavailable', message, options);
    this.address = address;
  }
}

/** `waitForBatch` gave up after its `timeout` before the batch was terminal (the batch goes on). */
export class WaitTimeoutError extends AnybatchError {
  readonly batchId: string;
  /** The batch as last seen. */
  readonly batch: import('./contract/batch').AnybatchBatch;
  constructor(batchId: string, timeoutMs: number, batch: import('./contract/batch').AnybatchBatch) {
    super('wait_timeout', `Batch ${batchId} is still ${batch.status} after ${Math.round(timeoutMs / 1000)} s; it goes on (wait again, or cancel it).`);
    this.batchId = batchId;
    this.batch = batch;
  }
}
