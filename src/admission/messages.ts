/**
 * What the admission workflow, its activities and the batch workflows that ask it say to each other: the
 * workflow's input and state, its update, signals and query, and the activity interface. No side effects and no
 * Node imports (bundled into workflow code).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AdmissionRequest, Budget, BudgetOverrides, Holding, Usage } from './budget';
import type { AdmissionTicket } from '../contract/admission';

export type { AdmissionTicket } from '../contract/admission';

export const ADMISSION_WORKFLOW_TYPE = 'admissionWorkflow';
/** The failure type of a request the admission workflow refuses (not integers, no id): asking again cannot help. */
export const BAD_ADMISSION_REQUEST = 'bad_admission_request';

/** Whose budget: the provider connection is in the workflow id only as a hash (src/activities/admission.ts). */
export interface BudgetScope {
  provider: string;
  /** The model the budget is for; null when the provider's limits hold across its models. */
  model: string | null;
}

/** The admission workflow's queue and holders, carried across continue-as-new. */
export interface AdmissionState {
  queue: AdmissionRequest[];
  holders: Holding[];
}

/** How often the workflow looks after its holders and how long it lives idle (tests shorten them). */
export interface AdmissionTiming {
  /** How often holders (and waiting requesters) are checked for being alive, while any exist (default 5 min). */
  leaseCheckMs?: number;
  /** The workflow ends after this long with nothing queued or held (default 10 min). */
  idleMs?: number;
  /** Continue-as-new after this many history events (default 2,000). */
  maxHistoryEvents?: number;
}

export interface AdmissionWorkflowInput {
  scope: BudgetScope;
  budget: Budget;
  timing?: AdmissionTiming;
  /** Present when this run continues an earlier one. */
  state?: AdmissionState;
}

/** The answer to a request: granted at once, or waiting behind `ahead` others (a signal says when it is granted). */
export interface AdmissionAnswer {
  granted: boolean;
  /** Requests queued before this one. */
  ahead: number;
  /** Why it waits (the measure the budget is short of), null when granted. */
  reason: string | null;
}

/** A request with the budget its batch asks for (the latest request's budget is the one in force). */
export interface AdmissionRequestMessage {
  request: AdmissionRequest;
  budget: Budget;
}

/** What the admission workflow shows: its budget, what is held and what waits. */
export interface AdmissionView {
  scope: BudgetScope;
  budget: Budget;
  usage: Usage;
  holders: Holding[];
  queue: AdmissionRequest[];
}

/** Enqueues a request (idempotent by id) and answers at once; a request already held is answered granted. */
export const requestAdmissionUpdate = defineUpdate<AdmissionAnswer, [AdmissionRequestMessage]>('admission.request');
/** Gives a request's share back (held or still waiting); unknown ids are ignored. */
export const releaseAdmissionSignal = defineSignal<[{ id: string }]>('admission.release');
/** Sent by the admission workflow to the requester when its request is granted. */
export const admissionGrantedSignal = defineSignal<[{ id: string }]>('admission.granted');
export const admissionStateQuery = defineQuery<AdmissionView>('admission.state');

/** Where a batch's parts ask for admission: its provider, connection and model, and its `admission` option. */
export interface AdmissionTarget {
  provider: string;
  model: string | null;
  /** The batch's connection, as in `BatchSpec.connection` (the key stays sealed; only its hash is used). */
  connection: { apiBase: string | null; sealed: string | null };
  limits?: BudgetOverrides;
  timing?: AdmissionTiming;
}

/** What a granted (or waiting) request is known by, to release it: null `workflowId` when no budget applies. */

export interface AdmissionActivities {
  /** Resolves the budget of `target` and enqueues `request` there (update-with-start of the admission workflow). */
  requestAdmission(target: AdmissionTarget, request: AdmissionRequest): Promise<AdmissionAnswer & { ticket: AdmissionTicket }>;
  /** The ids, of those given, whose workflows are no longer running (ended, terminated, or never existed). */
  findGoneWorkflows(workflowIds: string[]): Promise<string[]>;
}
