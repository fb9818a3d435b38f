/**
 * One long-lived workflow per budget (provider connection and model, see src/activities/admission.ts): the
 * durable-mutex pattern widened to a counting budget. Batch workflows ask for admission of a part (an update,
 * sent with update-with-start by an activity); requests are granted first in, first out while the budget allows
 * (src/admission/budget.ts), answered in the update or, later, by a signal to the requester; a part gives its
 * share back with a release signal. Holders and waiting requesters whose workflows are gone (terminated, ended
 * without releasing) are found by a periodic check and dropped, so nothing holds the budget forever. The queue
 * and holders carry over continue-as-new; the workflow ends after a while with nothing to do.
 */
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { nextGrants, overflow, usageOf, type AdmissionRequest, type Holding } from '../admission/budget';
import {
  admissionGrantedSignal,
  admissionStateQuery,
  BAD_ADMISSION_REQUEST,
  releaseAdmissionSignal,
  requestAdmissionUpdate,
  type AdmissionActivities,
  type AdmissionAnswer,
  type AdmissionWorkflowInput,
} from '../admission/messages';

const DEFAULT_LEASE_CHECK_MS = 5 * 60_000;
const DEFAULT_IDLE_MS = 10 * 60_000;
const DEFAULT_MAX_HISTORY_EVENTS = 2_000;

const activities = proxyActivities<AdmissionActivities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
});

export async function admissionWorkflow(input: AdmissionWorkflowInput): Promise<void> {
  const { scope } = input;
  let budget = input.budget;
  const queue: AdmissionRequest[] = [...(input.state?.queue ?? [])];
  const holders: Holding[] = [...(input.state?.holders ?? [])];
  const leaseCheckMs = input.timing?.leaseCheckMs ?? DEFAULT_LEASE_CHECK_MS;
  const idleMs = input.timing?.idleMs ?? DEFAULT_IDLE_MS;
  const maxHistoryEvents = input.timing?.maxHistoryEvents ?? DEFAULT_MAX_HISTORY_EVENTS;
  /** Granted requests whose requester has not been told yet. */
  const unannounced: string[] = [];

  /** Moves what fits from the queue to the holders; returns the ids granted. */
  const grant = (): string[] => {
    const granted = nextGrants(budget, queue, holders);
    queue.splice(0, granted.length);
    for (const request of granted) holders.push({ ...request, grantedAt: Date.now() });
    return granted.map((r) => r.id);
  };
  const drop = (id: string): void => {
    const held = holders.findIndex((h) => h.id === id);
    if (held >= 0) holders.splice(held, 1);
    const waiting = queue.findIndex((r) => r.id === id);
    if (waiting >= 0) queue.splice(waiting, 1);
  };
  const regrant = (): void => {
    unannounced.push(...grant());
  };
  /** Drops the holders and waiting requests whose workflows are no longer running, and grants what then fits. */
  const dropGone = async (): Promise<void> => {
    const ids = [...new Set([...holders, ...queue].map((r) => r.holder))];
    let gone = new Set<string>();
    try {
      gone = new Set(await activities.findGoneWorkflows(ids));
    } catch (err) {
      // Temporal unreachable from the worker for a while: look again at the next check, never lose the state.
      log.warn('admission: could not check the holders; trying again later', { error: err instanceof Error ? err.message : String(err) });
    }
    for (const request of [...holders, ...queue]) {
      if (!gone.has(request.holder)) continue;
      log.warn('admission: dropping a request whose workflow is gone', { id: request.id, holder: request.holder });
      drop(request.id);
    }
    regrant();
  };

  setHandler(
    requestAdmissionUpdate,
    ({ request, budget: asked }): AdmissionAnswer => {
      budget = asked;
      if (!holders.some((h) => h.id === request.id)) {
        if (!queue.some((r) => r.id === request.id)) queue.push(request);
        // Others that now fit are told by signal; this request learns it from the answer.
        for (const id of grant()) if (id !== request.id) unannounced.push(id);
      }
      if (holders.some((h) => h.id === request.id)) return { granted: true, ahead: 0, reason: null };
      const ahead = queue.findIndex((r) => r.id === request.id);
      const head = queue[0];
      return { granted: false, ahead, reason: overflow(budget, usageOf(holders), head) ?? 'waiting for earlier requests' };
    },
    {
      validator: ({ request }) => {
        const counts = [request.tokens, request.requests, request.part];
        if (!request.id || !request.holder || !counts.every((n) => Number.isInteger(n) && n >= 0)) {
          throw ApplicationFailure.nonRetryable(`admission request ${JSON.stringify(request.id)}: tokens, requests and part must be integers >= 0`, BAD_ADMISSION_REQUEST);
        }
      },
    },
  );
  setHandler(releaseAdmissionSignal, ({ id }) => {
    drop(id);
    regrant();
  });
  setHandler(admissionStateQuery, () => ({ scope, budget, usage: usageOf(holders), holders: [...holders], queue: [...queue] }));

  const busy = (): boolean => holders.length > 0 || queue.length > 0;
  /** Gone holders are looked for every `leaseCheckMs` while anything is held or waits, however often it is woken. */
  let nextCheck = Date.now() + leaseCheckMs;
  // State carried over may have room (a budget raised, holders released while continuing).
  regrant();
  for (;;) {
    const wasBusy = busy();
    if (!wasBusy) nextCheck = Date.now() + leaseCheckMs;
    // Woken by a grant to announce, or when work arrives or runs out (the timer to use changes).
    const woken = await condition(() => unannounced.length > 0 || busy() !== wasBusy, wasBusy ? Math.max(1, nextCheck - Date.now()) : idleMs);
    if (woken) {
      await announce(unannounced.splice(0), holders, drop);
      regrant();
    }
    if (busy() && Date.now() >= nextCheck) {
      nextCheck = Date.now() + leaseCheckMs;
      await dropGone();
    } else if (!woken && !busy()) {
      await condition(allHandlersFinished);
      if (!busy() && unannounced.length === 0) return;
    }
    const info = workflowInfo();
    if (unannounced.length === 0 && (info.continueAsNewSuggested || info.historyLength > maxHistoryEvents)) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof admissionWorkflow>({ scope, budget, timing: input.timing, state: { queue, holders } });
    }
  }
}

/** Tells each granted requester; a requester that cannot be signalled is gone, and its grant is dropped. */
async function announce(ids: string[], holders: readonly Holding[], drop: (id: string) => void): Promise<void> {
  await Promise.all(
    ids.map(async (id) => {
      const holding = holders.find((h) => h.id === id);
      if (!holding) return; // released before it was told
      try {
        await getExternalWorkflowHandle(holding.holder).signal(admissionGrantedSignal, { id });
      } catch (err) {
        log.warn('admission: the granted requester is gone; its grant is dropped', { id, error: err instanceof Error ? err.message : String(err) });
        drop(id);
      }
    }),
  );
}
