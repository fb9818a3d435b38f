/**
 * The reference a part's input left at the provider, as the workflow keeps it: pure functions shared by the
 * workflow and the activities (no imports but types), which read it in every shape a history may hold.
 */
import type { PreparedInput } from '../../contract/prepared';
import type { PartState } from './shared';

/**
 * Parts carried across continue-as-new (or from an older worker's state) in today's shape: a part that had a
 * `fileId` gets the reference it stands for. A part not yet uploaded keeps `prepared: null`.
 */
export function restoreParts(parts: readonly (PartState | (Omit<PartState, 'prepared'> & { fileId?: string | null; prepared?: PreparedInput | null }))[]): PartState[] {
  return parts.map((part) => {
    if ('prepared' in part && part.prepared !== undefined) return part as PartState;
    const { fileId, ...rest } = part as Omit<PartState, 'prepared'> & { fileId?: string | null };
    // Before the reference, an inline part kept fileId null even after it was prepared: whether it was is then
    // told by its provider batch (a part with a batch was prepared; one without is prepared again, as before).
    const prepared: PreparedInput | null = typeof fileId === 'string' && fileId !== '' ? { kind: 'file', fileId } : rest.batch !== null ? { kind: 'inline' } : null;
    return { ...rest, prepared };
  });
}
