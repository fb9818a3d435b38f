/**
 * The reference a part's input left at the provider (an uploaded file, inline input, or nothing for online
 * requests): opaque to the workflow, which keeps it and hands it back. Pure functions only.
 */

/**
 * What `prepareInput` left at the provider, kept in the part's durable state and handed back to `createBatch`:
 * an opaque, typed reference, one kind per way a provider takes its input. File-based providers (OpenAI, Groq,
 * Azure, Mistral, Together, xAI, Gemini file mode) leave an uploaded `file`; inline ones (Anthropic, Gemini
 * inline) leave nothing but send the requests with the create call. Kinds to come (datasets, containers, cloud
 * storage objects) are added here, and only the adapter that made a reference reads inside it.
 */
export type PreparedInput =
  | { readonly kind: 'file'; readonly fileId: string }
  | { readonly kind: 'inline' }
  /** Nothing is uploaded: the requests are sent one by one to an online endpoint (openai-compatible). */
  | { readonly kind: 'online' };

/** The reference of an uploaded file. */
export function preparedFile(fileId: string): PreparedInput {
  return { kind: 'file', fileId };
}

/** The reference of input sent inline with the create call. */
export const PREPARED_INLINE: PreparedInput = { kind: 'inline' };

/** The uploaded file's id of `prepared`, or null when the input is not a file. */
export function preparedFileId(prepared: PreparedInput | null | undefined): string | null {
  return prepared?.kind === 'file' ? prepared.fileId : null;
}

/**
 * The reference `uploadPart` returned, whichever worker recorded it: a `PreparedInput`, or (in histories from
 * before the typed reference) `{ fileId }` with a file id, or null for input sent inline.
 */
export function preparedOf(result: PreparedInput | { fileId?: string | null } | null | undefined): PreparedInput {
  if (result && 'kind' in result) return result;
  const fileId = result && 'fileId' in result ? result.fileId : null;
  return typeof fileId === 'string' && fileId !== '' ? { kind: 'file', fileId } : { kind: 'inline' };
}
