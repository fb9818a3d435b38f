/**
 * A batch staged before the blob store (its spec has no `storage`): read and written as a batch of the local folder
 * store at this worker's own ANYBATCH_HOME, in the flat layout it was staged in; only there (`WorkerFiles.forBatch`
 * checks that the spec names that layout, and nothing else). As it always was: its inputs are kept after its results
 * are written, its results are reported without URIs, and its staged data is not read as objects of a store (no
 * re-split, retry round or online run).
 */
import type { BatchResultFiles } from '../contract/batch';
import type { BatchSpec } from '../contract/spec';
import type { StagedObjects } from './batch-files';
import type { StorageRef } from './layout';
import type { LocalBlobStore } from './local';
import { LocalBatchFiles } from './local-files';

export class LegacyBatchFiles extends LocalBatchFiles {
  /** `home`: the local folder store at this worker's ANYBATCH_HOME; `ref`: the flat keys the spec's paths are. */
  constructor(spec: BatchSpec, home: LocalBlobStore, ref: StorageRef) {
    super(spec, home, ref);
  }

  override objects(refusal: () => Error): StagedObjects {
    throw refusal();
  }

  override withUris(files: BatchResultFiles): BatchResultFiles {
    return files;
  }

  override async cleanUp(): Promise<string[]> {
    return [];
  }
}
