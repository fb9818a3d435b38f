/**
 * The `model` of a batch prediction job, as @google/genai sends it (`tModel` in its converters: a bare name becomes
 * `publishers/google/models/<m>`, `<publisher>/<m>` becomes `publishers/<publisher>/models/<m>`, `projects/...`
 * passes as is; docs/provider-apis-3.md section 2). Google's models take Gemini lines; Anthropic's take Claude
 * lines ("Claude on Vertex"); a model of the project's own (`projects/{p}/locations/{l}/models/{m}`, a tuned
 * Gemini) takes Gemini lines. Other publishers (Llama and the like take OpenAI lines) are not served.
 */

export type ModelFamily = 'gemini' | 'claude';

export interface VertexModel {
  /** As the create named it. */
  name: string;
  publisher: string | null;
  /** The model's own id: `gemini-2.5-flash`, `claude-sonnet-4@20250514`. */
  id: string;
  family: ModelFamily;
}

const PUBLISHER = /^(?:projects\/[^/]+\/locations\/[^/]+\/)?publishers\/([^/]+)\/models\/([^/]+)$/;
const OWN = /^projects\/[^/]+\/locations\/[^/]+\/models\/([^/]+)$/;

/** The model, or why it cannot be one (an INVALID_ARGUMENT). */
export function parseModel(name: string): VertexModel | string {
  const published = PUBLISHER.exec(name);
  if (published) {
    const [, publisher, id] = published;
    if (publisher === 'google') return { name, publisher, id, family: 'gemini' };
    if (publisher === 'anthropic') return { name, publisher, id, family: 'claude' };
    return `The sandbox's Vertex AI serves Google's and Anthropic's publisher models, not ${publisher}'s.`;
  }
  const own = OWN.exec(name);
  if (own) return { name, publisher: null, id: own[1], family: 'gemini' };
  return `Invalid model name: ${name}. Expected publishers/{publisher}/models/{model} or projects/{project}/locations/{location}/models/{model}.`;
}

/** Whether the `models` fault lets the model exist: by its id, its id without an `@version`, or its full name. */
export function modelAllowed(model: VertexModel, allowed: readonly string[] | undefined): boolean {
  if (!allowed) return true;
  return [model.id, model.id.replace(/@.*$/, ''), model.name].some((n) => allowed.includes(n));
}
