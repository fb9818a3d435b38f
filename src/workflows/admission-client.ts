/**
 * What a batch workflow calls to send a part through admission control (src/workflows/admission.ts):
 * `admit(target, part, demand)` resolves once the part may go to the provider, `release(ticket)` gives its share
 * back when the part ended (or never went out). Workflow code: it calls the admission activities and signals the
 * admission workflow; no Node imports. Create the client once per workflow run, before the first `admit`: it
 * installs the handler of the grant signal.
 */
import { condition, getExternalWorkflowHandle, log, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  admissionGrantedSignal,
  releaseAdmissionSignal,
  type AdmissionActivities,
  type AdmissionAnswer,
  type AdmissionTarget,
  type AdmissionTicket,
} from '../admission/messages';

export type { AdmissionTarget, AdmissionTicket } from '../admission/messages';

/** What a part will use of the budget: its estimated prompt tokens and its request count. */
export interface AdmissionDemand {
  tokens: number;
  requests: number;
}

export interface AdmitOptions {
  /** Told when the part has to wait, and why. */
  onQueued?: (answer: AdmissionAnswer) => void;
  /** Stop waiting when this becomes true (a cancel): the request is withdrawn and `admit` returns null. */
  until?: () => boolean;
}

export interface AdmissionClient {
  /**
   * Waits until `part` is admitted under `target`'s budget and returns its ticket (keep it in the workflow's
   * state, so a later run can release it), or null when `until` ended the wait first. Asking again for a part
   * already admitted (after continue-as-new) answers at once.
   */
  admit(target: AdmissionTarget, part: number, demand: AdmissionDemand, options?: AdmitOptions): Promise<AdmissionTicket | null>;
  /** Gives the part's share back; safe to call twice, and when the admission workflow has ended. */
  release(ticket: AdmissionTicket): Promise<void>;
}

const activities = proxyActivities<AdmissionActivities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 10 },
});

export function admissionClient(): AdmissionClient {
  const granted = new Set<string>();
  setHandler(admissionGrantedSignal, ({ id }) => {
    granted.add(id);
  });
  return {
    async admit(target, part, demand, options = {}) {
      const holder = workflowInfo().workflowId;
      const { ticket, ...answer } = await activities.requestAdmission(target, { id: `${holder}/${part}`, holder, part, ...demand });
      if (answer.granted) return ticket;
      options.onQueued?.(answer);
      const until = options.until ?? (() => false);
      await condition(() => granted.has(ticket.id) || until());
      if (granted.has(ticket.id)) return ticket;
      await release(ticket);
      return null;
    },
    release,
  };

  async function release(ticket: AdmissionTicket): Promise<void> {
    granted.delete(ticket.id);
    if (ticket.workflowId === null) return;
    try {
      await getExternalWorkflowHandle(ticket.workflowId).signal(releaseAdmissionSignal, { id: ticket.id });
    } catch (err) {
      // The admission workflow ended (idle) or was terminated: nothing is held there any more.
      log.warn('admission release not delivered', { id: ticket.id, error: err instanceof Error ? err.message : String(err) });
    }
  }
}
