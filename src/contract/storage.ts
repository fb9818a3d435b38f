/** Where a batch's data lives, as its spec records it (types only; the keys themselves: src/storage/layout.ts). */

/** What a batch's spec records about where its data lives (absent in batches staged before the store existed). */
export interface StorageRef {
  /** The store's root, as `BlobStore.uri('')` gives it: `file:///abs/home/` or `s3://bucket/prefix/`. */
  uri: string;
  /** The staged input's key: `inputs/<batch>/<run>/input.jsonl`, or `inputs/<batch>.jsonl` for a batch staged before run folders (src/storage/layout.ts). */
  inputKey: string;
  /**
   * The key prefix the results are written under (`results/<batch>/`), or null when the caller chose a results
   * folder of its own (`resultsDir`, a local store only): then results go to `BatchSpec.resultsDir` as before.
   */
  resultsPrefix: string | null;
}
