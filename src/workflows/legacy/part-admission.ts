/**
 * Admission control as a batch workflow uses it (ADMISSION_PATCH in batch.ts): each part asks the budget's admission
 * workflow (src/workflows/admission.ts) before its provider batch is created, in index order, and gives its share
 * back as soon as it ended. A waiting part does not hold up the workflow: the poll loop runs on (the parts already
 * out must be seen ending, or the budget they hold never frees), and the grant arrives as a signal. Workflow code.
 */
import { admissionClient, type AdmissionTarget } from '../admission-client';
import type { BatchSpec } from '../../contract/spec';
import type { BatchState, PartState } from './shared';
import { partEnded } from './state';

export interface PartAdmission {
  /**
   * Asks admission for each of `parts` that has no ticket and no request out yet, one after the other (so they queue
   * in index order); returns once each was answered: granted (it gets `admission`) or queued (it gets `admitting`).
   */
  request(parts: PartState[]): Promise<void>;
  /**
   * Gives back the shares of those of `parts` that ended. With `all` (the batch is finishing): first withdraws the
   * requests still waiting, then gives back every share still held. Never throws.
   */
  release(parts: PartState[], all?: boolean): Promise<void>;
}

/** Admitted and not created yet: the part may go to the provider now. */
export function admitted(part: PartState): boolean {
  return !!part.admission && part.batch === null && part.error === null;
}

/**
 * `onChange` is told when a waiting part is granted (or its wait ended otherwise); `describe` turns a failed request
 * into the part's error. Create it once per run, before the first request: it installs the grant signal's handler.
 */
export function partAdmission(
  spec: BatchSpec,
  state: BatchState,
  onChange: () => void,
  describe: (err: unknown) => { code: string; message: string },
): PartAdmission {
  const client = admissionClient();
  const target: AdmissionTarget = {
    provider: spec.provider,
    model: spec.input.model,
    connection: spec.connection,
    ...(spec.admission ? { limits: spec.admission } : {}),
  };
  // Parts (by index) whose request is out, until it ends: asking again would not hurt (requests are idempotent) but
  // costs an activity.
  const asking = new Map<number, Promise<void>>();
  // Set when the batch finishes: waiting requests are withdrawn.
  let closing = false;

  function ask(part: PartState): Promise<void> {
    return new Promise<void>((answered) => {
      const demand = { tokens: part.estimatedTokens?.input ?? 0, requests: part.requestCount };
      const waited = client
        .admit(target, part.index, demand, {
          onQueued: (answer) => {
            part.admitting = answer.reason ?? 'waiting for earlier parts';
            answered();
            onChange();
          },
          until: () => state.cancelRequested || closing,
        })
        .then(
          async (ticket) => {
            if (ticket === null) return; // withdrawn: the batch is being cancelled, or finishing
            // Granted after the part ended some other way (cancelled, replaced): the share goes straight back.
            if (part.error !== null || part.batch !== null || !state.parts.includes(part)) await client.release(ticket);
            else part.admission = ticket;
          },
          (err: unknown) => {
            part.error = describe(err);
          },
        )
        .finally(() => {
          asking.delete(part.index);
          delete part.admitting;
          answered();
          onChange();
        });
      asking.set(part.index, waited);
    });
  }

  return {
    async request(parts) {
      for (const part of parts) {
        if (state.cancelRequested || state.failure !== null) return;
        if (part.admission || asking.has(part.index) || part.batch !== null || part.error !== null) continue;
        await ask(part);
      }
    },
    async release(parts, all = false) {
      if (all) {
        closing = true;
        await Promise.all(asking.values());
      }
      await Promise.all(
        parts
          .filter((p) => p.admission && (all || partEnded(p)))
          .map(async (p) => {
            const ticket = p.admission!;
            p.admission = null;
            await client.release(ticket);
          }),
      );
    },
  };
}
