/** Shared fixtures of the Anthropic sandbox tests: an SDK client, request builders, polling and result reading. */
import Anthropic from '@anthropic-ai/sdk';
import type { BatchCreateParams, MessageBatch, MessageBatchIndividualResponse } from '@anthropic-ai/sdk/resources/messages/batches';
import type { Sandbox } from '../../src/sandbox';

export const HEADERS = { 'x-api-key': 'k', 'anthropic-version': '2023-06-01' };

export function anthropicFor(sandbox: Sandbox, options: { maxRetries?: number } = {}): Anthropic {
  return new Anthropic({ baseURL: sandbox.url, apiKey: 'x', maxRetries: options.maxRetries ?? 2 });
}

/** One request; `params` overrides (or, set to undefined, removes) fields of a valid Messages body. */
export function request(customId: string, params: Record<string, unknown> = {}): BatchCreateParams.Request {
  const body: Record<string, unknown> = {
    model: 'claude-sandbox-1',
    max_tokens: 256,
    messages: [{ role: 'user', content: `Say hello to ${customId}` }],
    ...params,
  };
  for (const key of Object.keys(body)) if (body[key] === undefined) delete body[key];
  // Invalid params are the point of some tests; the SDK types only describe valid ones.
  return { custom_id: customId, params: body as unknown as BatchCreateParams.Request['params'] };
}

export function ids(n: number, prefix = 'req-'): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i}`);
}

export async function waitEnded(client: Anthropic, batchId: string, timeoutMs = 15_000): Promise<MessageBatch> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await client.messages.batches.retrieve(batchId);
    if (batch.processing_status === 'ended') return batch;
    if (Date.now() > deadline) throw new Error(`batch ${batchId} still ${batch.processing_status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function results(client: Anthropic, batchId: string): Promise<MessageBatchIndividualResponse[]> {
  const lines: MessageBatchIndividualResponse[] = [];
  for await (const line of await client.messages.batches.results(batchId)) lines.push(line);
  return lines;
}

export function byCustomId(lines: MessageBatchIndividualResponse[]): Map<string, MessageBatchIndividualResponse['result']> {
  return new Map(lines.map((line) => [line.custom_id, line.result]));
}
