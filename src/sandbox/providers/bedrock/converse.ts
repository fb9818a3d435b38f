/**
 * Records of a `Converse` job (docs/provider-apis-3.md §1, "Converse type"): one body for every model family,
 * `{messages, system?, inferenceConfig?, toolConfig?}`, answered with the Converse API's response (the Nova-shaped
 * message, stop reason and usage, plus `metrics.latencyMs`). Tool use is refused record by record: "Records that
 * include toolConfig fail with a 400" (AWS batch-inference.html, quoted in the same section).
 */
import { messagesProblem, messagesReply } from './nova';
import type { ModelReply } from './wire';

export const CONVERSE_TOOLS_REFUSED =
  'Tool use (toolConfig) is not supported in batch inference jobs with the Converse invocation type. Use the InvokeModel invocation type for tool calling.';

export function converseProblem(body: Record<string, unknown>): string | null {
  if (body.toolConfig !== undefined) return CONVERSE_TOOLS_REFUSED;
  return messagesProblem(body);
}

/** `body` passed `converseProblem`. The latency is made up, but stable, so repeated reads agree. */
export function converseReply(body: Record<string, unknown>): ModelReply {
  const reply = messagesReply(body);
  return { ...reply, modelOutput: { ...reply.modelOutput, metrics: { latencyMs: 100 + 10 * reply.outputTokens } } };
}
