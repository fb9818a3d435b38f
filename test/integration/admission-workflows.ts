/**
 * The workflows of the admission integration test: the admission workflow itself, and a requester that stands in
 * for a batch workflow's part (admit, hold until told to finish, release), through the same client a batch
 * workflow uses (src/workflows/admission-client.ts).
 */
import { condition, defineQuery, defineSignal, setHandler } from '@temporalio/workflow';
import type { AdmissionAnswer, AdmissionTarget } from '../../src/admission/messages';
import { admissionClient, type AdmissionDemand } from '../../src/workflows/admission-client';

export { admissionWorkflow } from '../../src/workflows/admission';

export interface RequesterView {
  /** Workflow time (ms) of the admission, null while waiting. */
  admittedAt: number | null;
  /** The answer while the part waits. */
  queued: AdmissionAnswer | null;
  /** Workflow time (ms) at which it was told to finish, just before it released its share. */
  finishedAt: number | null;
  /** It stopped waiting (withdrawn) before it was admitted. */
  withdrawn: boolean;
}

export const finishSignal = defineSignal('finish');
/** Stops waiting for admission (as a cancel does): the request is withdrawn. */
export const withdrawSignal = defineSignal('withdraw');
export const requesterQuery = defineQuery<RequesterView>('requester');

export async function admissionRequester(target: AdmissionTarget, part: number, demand: AdmissionDemand): Promise<RequesterView> {
  const admission = admissionClient();
  const view: RequesterView = { admittedAt: null, queued: null, finishedAt: null, withdrawn: false };
  let finished = false;
  let withdraw = false;
  setHandler(finishSignal, () => {
    finished = true;
  });
  setHandler(withdrawSignal, () => {
    withdraw = true;
  });
  setHandler(requesterQuery, () => view);
  const ticket = await admission.admit(target, part, demand, {
    onQueued: (answer) => {
      view.queued = answer;
    },
    until: () => withdraw,
  });
  if (ticket === null) {
    view.withdrawn = true;
    return view;
  }
  view.admittedAt = Date.now();
  await condition(() => finished);
  view.finishedAt = Date.now();
  await admission.release(ticket);
  return view;
}
