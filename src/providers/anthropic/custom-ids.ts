/**
 * OpenAI custom_ids (any string) <-> Anthropic custom_ids (`^[a-zA-Z0-9_-]{1,64}$`), docs/provider-apis.md section
 * 10.4: the shared mapping (src/providers/custom-ids.ts) with Anthropic's rule (`customIds` in ./limits.ts).
 */
import { CustomIdMap as ProviderIdMap } from '../custom-ids';
import { ANTHROPIC_CUSTOM_IDS } from './limits';

export { hashedCustomId } from '../custom-ids';

/** The custom_ids Anthropic takes: `^[a-zA-Z0-9_-]{1,64}$`. */
export const ANTHROPIC_CUSTOM_ID = new RegExp(`^[${ANTHROPIC_CUSTOM_IDS.characters}]{1,${ANTHROPIC_CUSTOM_IDS.maxLength}}$`);

/**
 * The map of a part's custom_ids to Anthropic's (see `CustomIdMap` in src/providers/custom-ids.ts). With a `tag`
 * (the part's `runTag`: 16 characters of [a-z2-7]) every id handed out starts with `<tag>_`: a kept id is
 * `<tag>_<id>` (when that fits in 64 characters), any other `<tag>_h_<hash>`; toOriginal() strips the tag from kept
 * ones, and gives undefined for an id without it. An Anthropic batch holding such an id is therefore provably this
 * part's (see the adapter's header).
 */
export class CustomIdMap extends ProviderIdMap {
  constructor(tag: string | null = null) {
    super(ANTHROPIC_CUSTOM_IDS, tag, 'an Anthropic custom_id');
  }

  /** Rebuilds a map from persisted entries() and the tag it was made with. */
  static fromEntries(entries: Iterable<readonly [string, string]>, tag: string | null = null): CustomIdMap {
    return ProviderIdMap.restore(new CustomIdMap(tag), entries);
  }
}
