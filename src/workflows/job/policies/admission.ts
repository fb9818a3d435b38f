/**
 * Admission control as a policy of the job workflow: before a part is submitted it asks the budget of its provider
 * connection and model (src/workflows/admission.ts) and waits, visibly `admitting`, until granted; it gives its share
 * back as soon as it ended. Requests go one at a time, in the order parts reach this point, so they queue first in,
 * first out. Workflow code.
 */
import { admissionClient, type AdmissionTarget } from '../../admission-client';
import type { Part } from '../../../contract/part';
import { admitting } from '../part';
import type { Job } from '../runtime';

export interface AdmissionPolicy {
  /** Before submit: resolves true once `part` holds a share (kept in its `ticket`), false when the wait was withdrawn. */
  admit(part: Part): Promise<boolean>;
  /** After a part ended (or was replaced): its share goes back. */
  release(part: Part): Promise<void>;
  /** The batch is finishing: waiting requests are withdrawn. */
  close(): void;
}

export function admissionPolicy(job: Job): AdmissionPolicy {
  const client = admissionClient();
  const { spec } = job;
  const target: AdmissionTarget = {
    provider: spec.provider,
    model: spec.input.model,
    connection: spec.connection,
    ...(spec.admission ? { limits: spec.admission } : {}),
  };
  let closing = false;
  let turn: Promise<void> = Promise.resolve();

  return {
    async admit(part) {
      const current = () => job.current(part.index);
      if (current()?.ticket) return true;
      // One request at a time: the admission workflow sees them in this order.
      const previous = turn;
      let answered!: () => void;
      turn = new Promise<void>((resolve) => (answered = resolve));
      await previous;
      const demand = { tokens: part.estimatedTokens?.input ?? 0, requests: part.requestCount };
      try {
        const ticket = await client.admit(target, part.index, demand, {
          onQueued: (answer) => {
            const now = current();
            if (now) job.replace(now, admitting(now, answer.reason ?? 'waiting for earlier parts'));
            answered();
            job.publish();
          },
          until: () => job.state.cancelRequested || closing || job.draining,
        });
        if (ticket === null) return false;
        const now = current();
        if (!now || now.phase === 'downloading' || now.phase === 'done') {
          await client.release(ticket);
          return false;
        }
        job.replace(now, { ...now, ticket });
        return true;
      } finally {
        answered();
      }
    },
    async release(part) {
      const now = job.current(part.index) ?? part;
      if (!now.ticket) return;
      const ticket = now.ticket;
      if (job.current(part.index)) job.replace(now, { ...now, ticket: null });
      await client.release(ticket);
    },
    close() {
      closing = true;
    },
  };
}
