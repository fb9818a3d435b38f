/**
 * One record's outcome: the stand-in model's `modelOutput`, or the `error` Bedrock writes in its place
 * (docs/provider-apis-3.md §1, "Outputs": `{errorCode: 400, errorMessage}`). Pure and deterministic, so the counts
 * shown while a job runs and the lines written when it ends agree.
 */
import { REQUEST_FAULT_MESSAGE } from '../../kernel/faults';
import { requestedStatus } from '../../kernel/model';
import { anthropicProblem, anthropicReply } from './anthropic';
import { converseProblem, converseReply } from './converse';
import { familyOf, type InvocationType } from './models';
import { messagesProblem, messagesReply } from './nova';
import type { ModelReply, RecordError } from './wire';

export type RecordOutcome = { reply: ModelReply; error: null } | { reply: null; error: RecordError };

/** What a record is answered under: the job's model and invocation type. */
export interface RecordContext {
  modelId: string;
  invocationType: InvocationType;
}

/**
 * Why a record fails whatever the model would say, or null: the error it asks for (`"sandbox_error": <status>`,
 * kernel/model.ts), the request fault drawn for it (`faulted`), or a body the model's schema refuses.
 */
export function recordError(ctx: RecordContext, modelInput: Record<string, unknown>, faulted: boolean): RecordError | null {
  if (modelInput.sandbox_error !== undefined) {
    const requested = modelInput.sandbox_error;
    return { errorCode: requestedStatus(requested), errorMessage: `Sandbox error requested by the record (sandbox_error=${JSON.stringify(requested)}).` };
  }
  if (faulted) return { errorCode: 500, errorMessage: REQUEST_FAULT_MESSAGE };
  const problem = schemaProblem(ctx, modelInput);
  return problem === null ? null : { errorCode: 400, errorMessage: problem };
}

function schemaProblem(ctx: RecordContext, body: Record<string, unknown>): string | null {
  if (ctx.invocationType === 'Converse') return converseProblem(body);
  switch (familyOf(ctx.modelId)) {
    case 'anthropic':
      return anthropicProblem(body);
    case 'nova':
      return messagesProblem(body);
    default:
      // Refused at create (routes.ts); a record never gets here.
      return `The model ${ctx.modelId} is not supported for batch inference in the sandbox.`;
  }
}

/** The record's outcome; `key` is stable per record and seeds its reply's ids. */
export function answerRecord(ctx: RecordContext, modelInput: Record<string, unknown>, faulted: boolean, key: string): RecordOutcome {
  const error = recordError(ctx, modelInput, faulted);
  if (error) return { reply: null, error };
  if (ctx.invocationType === 'Converse') return { reply: converseReply(modelInput), error: null };
  const reply = familyOf(ctx.modelId) === 'anthropic' ? anthropicReply(modelInput, ctx.modelId, key) : messagesReply(modelInput);
  return { reply, error: null };
}
