/**
 * The activities of admission control: resolving a batch's budget (the provider's published queue limits from
 * its catalog row, overridden by the worker's `ANYBATCH_ADMISSION`, then by the batch's `admission` option) and asking the budget's admission workflow to
 * admit a part (update-with-start, so the first request starts the workflow), and telling that workflow which
 * holders are gone. Runs on the worker, next to the batch activities, and starts admission workflows on its
 * own task queue.
 */
import { Context } from '@temporalio/activity';
import { WithStartWorkflowOperation, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { recordAdmission } from './metrics';
import { budgetProblem, isUnlimited, resolveBudget, type AdmissionRequest, type BudgetOverrides } from '../admission/budget';
import { admissionWorkflowId, connectionHash } from '../admission/key';
import { ADMISSION_ENV, workerOverrides } from '../admission/settings';
import {
  ADMISSION_WORKFLOW_TYPE,
  BAD_ADMISSION_REQUEST,
  requestAdmissionUpdate,
  type AdmissionActivities,
  type AdmissionAnswer,
  type AdmissionTarget,
  type AdmissionTicket,
  type AdmissionWorkflowInput,
} from '../admission/messages';
import { providerDefinition } from '../providers/registry';
import { unseal } from '../secrets';
import { classifyFailure } from './failures';

/**
 * The batch's own key, only to name its budget (hashed, sent nowhere). Its credentials were sealed for the batch
 * workflow asking, whose id is the batch id (src/secrets.ts); a value that does not open fails at once.
 */
function ownKey(target: AdmissionTarget): string | undefined {
  const batchId = Context.current().info.workflowExecution?.workflowId ?? '';
  try {
    return unseal(target.connection.sealed!, { batchId, provider: target.provider, apiBase: target.connection.apiBase ?? null }).apiKey;
  } catch (err) {
    throw classifyFailure(err);
  }
}

export function createAdmissionActivities(): AdmissionActivities {
  return {
    async requestAdmission(target: AdmissionTarget, request: AdmissionRequest): Promise<AdmissionAnswer & { ticket: AdmissionTicket }> {
      const definition = providerDefinition(target.provider);
      const problem = target.limits ? budgetProblem(target.limits, 'admission') : null;
      if (problem) throw ApplicationFailure.nonRetryable(problem, 'bad_admission_limits');
      let fromWorker: BudgetOverrides | undefined;
      try {
        fromWorker = workerOverrides(target.provider, process.env[ADMISSION_ENV]);
      } catch (err) {
        throw ApplicationFailure.nonRetryable(err instanceof Error ? err.message : String(err), 'bad_admission_limits');
      }
      const budget = resolveBudget(definition.capabilities.admission, { ...fromWorker, ...target.limits });
      if (isUnlimited(budget)) return { granted: true, ahead: 0, reason: null, ticket: { workflowId: null, id: request.id } };

      const scope = { provider: target.provider, model: definition.capabilities.admission?.perModel === false ? null : target.model };
      const apiKey = (target.connection.sealed ? ownKey(target) : undefined) ?? process.env[definition.env.apiKey] ?? '';
      const baseURL = target.connection.apiBase ?? process.env[definition.env.baseURL] ?? definition.defaultBaseURL;
      if (baseURL === null || baseURL === undefined) {
        throw ApplicationFailure.nonRetryable(`${definition.label} needs a base URL (apiBase or ${definition.env.baseURL}) to find its admission budget.`, 'missing_base_url');
      }
      const workflowId = admissionWorkflowId(scope, connectionHash(baseURL, apiKey));
      const { client, info } = Context.current();
      const input: AdmissionWorkflowInput = { scope, budget, ...(target.timing ? { timing: target.timing } : {}) };
      try {
        const answer = await client.workflow.executeUpdateWithStart(requestAdmissionUpdate, {
          args: [{ request, budget }],
          startWorkflowOperation: new WithStartWorkflowOperation(ADMISSION_WORKFLOW_TYPE, {
            workflowId,
            taskQueue: info.taskQueue,
            args: [input],
            workflowIdConflictPolicy: 'USE_EXISTING',
          }),
        });
        recordAdmission(target.provider, answer.granted, answer.ahead);
        return { ...answer, ticket: { workflowId, id: request.id } };
      } catch (err) {
        // The admission workflow refused the request (its validator): asking again cannot help.
        if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === BAD_ADMISSION_REQUEST) {
          throw ApplicationFailure.nonRetryable(`${workflowId} refused the request: ${err.cause?.message ?? err.message}`, 'admission_refused');
        }
        throw err; // the workflow was closing or continuing as new, or the server was unreachable: retried
      }
    },

    async findGoneWorkflows(workflowIds: string[]): Promise<string[]> {
      const { client } = Context.current();
      const gone: string[] = [];
      for (const id of workflowIds) {
        try {
          const description = await client.workflow.getHandle(id).describe();
          if (description.status.name !== 'RUNNING') gone.push(id);
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
          gone.push(id);
        }
      }
      return gone;
    },
  };
}
