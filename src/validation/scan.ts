/**
 * One pass over the input's bytes: frames lines, checks each one and the rules that span lines (unique
 * custom_ids, one model, batch limits), and hands back the bytes to stage.
 */
import { lineShape, type LineShape, type ProviderCapabilities } from '../providers/catalog';
import { CustomIdIndex } from './custom-ids';
import { formatBytes, quote } from './format';
import { IssueList } from './issues';
import { LineSplitter, type LineSink } from './lines';
import { checkRequestLine } from './request-line';
import type { LineProblem } from './request-line';
import type { PartCutter } from '../results/split';

const NEWLINE = Buffer.from('\n');
const SPLIT_HINT = 'allowed in one batch: split the file';

export interface ScanRules {
  endpoint: string;
  capabilities: ProviderCapabilities;
  maxRequests: number;
  maxBytes: number;
  enforceBatchLimits: boolean;
  /** Keep the accepted lines for staging. */
  stage: boolean;
  /** Provider-specific checks of one request body (e.g. whether it translates to the provider's format). */
  checkPayload?: PayloadCheck;
  /** Cuts the staged lines into parts as they are staged (src/results/split.ts): the split, in the same pass. */
  cutter?: PartCutter;
}

/** Problems make the line invalid; warnings (e.g. a field the provider ignores) are reported once each. */
export type PayloadCheck = (payload: Record<string, unknown>) => { problems: LineProblem[]; warnings: string[] };

export class InputScan implements LineSink {
  readonly issues = new IssueList();
  requestCount = 0;
  /** Size of the staged copy: every request line plus its `\n`. */
  bytes = 0;
  readonly models = new Set<string>();
  readonly warnings = new Set<string>();

  private readonly splitter: LineSplitter;
  private readonly customIds = new CustomIdIndex();
  private readonly shape: LineShape;
  private readonly modelField: string;
  private firstModel: { model: string; line: number } | null = null;
  private bytesRead = 0;
  private staged: Buffer[] = [];
  private stagedBytes = 0;
  /** The accepted lines' custom_ids, as JSON lines, not yet taken (see `takeIds`). */
  private ids: string[] = [];

  constructor(private readonly rules: ScanRules) {
    // A line that cannot fit in one batch on its own is refused without being held in memory.
    this.splitter = new LineSplitter(this, rules.maxBytes - NEWLINE.length);
    this.shape = lineShape(rules.capabilities, rules.endpoint);
    this.modelField = `${this.shape.payload}.model`;
  }

  /** Scans a chunk; returns the accepted lines it completed, to stage, or null when there is nothing to stage. */
  push(chunk: Buffer): Buffer | null {
    this.bytesRead += chunk.length;
    this.splitter.push(chunk);
    return this.takeStaged();
  }

  /** Ends the input: scans its last line and applies the whole-file rules. */
  finish(): Buffer | null {
    this.splitter.end();
    if (this.requestCount === 0) {
      this.issues.add({ message: this.bytesRead === 0 ? 'file is empty' : 'file has no requests, only blank lines' });
    } else {
      this.checkMinimum();
      if (this.rules.enforceBatchLimits) this.checkBatchLimits();
    }
    return this.takeStaged();
  }

  line(bytes: Buffer, line: number): void {
    this.count(bytes.length);
    const checked = checkRequestLine(bytes, this.rules.endpoint, this.shape);
    for (const problem of checked.problems) this.issues.add({ line, ...problem });
    if (checked.problems.length === 0 && checked.payload && this.rules.checkPayload) {
      const extra = this.rules.checkPayload(checked.payload);
      for (const problem of extra.problems) this.issues.add({ line, ...problem });
      for (const warning of extra.warnings) this.warnings.add(warning);
    }
    // A custom_id the provider would refuse (its `capabilities.customIds`) is not refused here: its adapter sends a
    // stand-in and maps it back (src/providers/custom-ids.ts). The user's ids are theirs.
    if (checked.customId !== undefined) this.checkUnique(checked.customId, line);
    if (checked.model !== undefined) this.checkModel(checked.model, line);
    // Once the file has an issue the staged copy will be thrown away, so it is no longer built.
    if (this.rules.stage && this.issues.total === 0) {
      this.staged.push(bytes, NEWLINE);
      this.stagedBytes += bytes.length + NEWLINE.length;
      if (checked.customId !== undefined) this.ids.push(JSON.stringify(checked.customId) + '\n');
      this.rules.cutter?.add(bytes);
    }
  }

  oversized(line: number, bytes: number): void {
    this.count(bytes);
    const limit = formatBytes(this.rules.maxBytes);
    this.issues.add({ line, message: `line is ${formatBytes(bytes)}, more than fits in one batch (${limit})` });
  }

  private count(lineBytes: number): void {
    this.requestCount++;
    this.bytes += lineBytes + NEWLINE.length;
  }

  private checkUnique(customId: string, line: number): void {
    const firstLine = this.customIds.claim(customId, line);
    if (firstLine !== undefined) {
      this.issues.add({ line, field: 'custom_id', message: `custom_id ${quote(customId)} is also used on line ${firstLine}` });
    }
  }

  private checkModel(model: string, line: number): void {
    this.models.add(model);
    if (this.firstModel === null) {
      this.firstModel = { model, line };
    } else if (this.rules.capabilities.requiresSingleModel && model !== this.firstModel.model) {
      const first = `${quote(this.firstModel.model)} on line ${this.firstModel.line}`;
      const message = `model ${quote(model)} differs from ${first} (${this.rules.capabilities.name} takes one model per batch)`;
      this.issues.add({ line, field: this.modelField, message });
    }
  }

  /** A provider's fewest requests per batch (Cerebras 10, Bedrock 100): splitting cannot help, so it is said at once. */
  private checkMinimum(): void {
    const { minRequestsPerBatch: min, name } = this.rules.capabilities;
    if (min !== undefined && this.requestCount < min) {
      this.issues.add({ message: `${this.requestCount} request${this.requestCount === 1 ? '' : 's'}, fewer than the ${min} ${name} takes in one batch` });
    }
  }

  private checkBatchLimits(): void {
    const { maxRequests, maxBytes } = this.rules;
    if (this.requestCount > maxRequests) {
      this.issues.add({ message: `${this.requestCount} requests, more than the ${maxRequests} ${SPLIT_HINT}` });
    }
    if (this.bytes > maxBytes) {
      this.issues.add({ message: `${formatBytes(this.bytes)} of requests, more than the ${formatBytes(maxBytes)} ${SPLIT_HINT}` });
    }
  }

  /** The custom_ids of the lines handed out for staging so far, one JSON string a line (then forgotten). */
  takeIds(): Buffer | null {
    if (this.ids.length === 0) return null;
    const out = Buffer.from(this.ids.join(''), 'utf8');
    this.ids = [];
    return out;
  }

  private takeStaged(): Buffer | null {
    if (this.stagedBytes === 0) return null;
    const out = Buffer.concat(this.staged, this.stagedBytes);
    this.staged = [];
    this.stagedBytes = 0;
    return out;
  }
}
