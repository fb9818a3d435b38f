/**
 * What the vertexai module needs from outside itself, declared here and handed in by the registry
 * (`providers/index.ts`): Vertex answers Gemini lines as the Gemini API does and Claude lines as Anthropic's
 * Messages API does, and its jobs read and write Cloud Storage. Those are the gemini, anthropic and gcs modules'
 * parts; provider modules never import one another (test/sandbox/structure.test.ts), so the registry, which knows
 * them all, passes them in.
 */
import type { Kernel } from '../../kernel/provider';

/** The Gemini stand-in model (providers/gemini/responder.ts): a GenerateContentRequest's problem, or its response. */
export interface GenerateContentResponder {
  requestProblem(request: unknown): string | null;
  reply(request: Record<string, unknown>, model: string, key: string): Record<string, unknown>;
}

/** The Claude stand-in model (providers/anthropic/params-check.ts, responder.ts): Messages params' problem, or a Message. */
export interface MessagesResponder {
  paramsProblem(params: Record<string, unknown>): string | null;
  reply(params: Record<string, unknown>, key: string): object;
}

/** The Cloud Storage of one sandbox, as the jobs use it. */
export interface ObjectStorage {
  hasBucket(bucket: string): boolean;
  /** Where an object's bytes are, or null when it does not exist. */
  locate(bucket: string, name: string): { path: string; size: number } | null;
  /** Moves a finished file into the store as an object. */
  putFile(bucket: string, name: string, sourcePath: string, contentType: string): Promise<unknown>;
}

export interface Responders {
  gemini: GenerateContentResponder;
  claude: MessagesResponder;
}

export interface VertexDeps extends Responders {
  /** The sandbox's Cloud Storage, found through its kernel. */
  storage(kernel: Kernel): ObjectStorage;
}
