/** What the batch workflows and the admission workflow exchange about budgets (types only). */

/** What may be in flight at once for one provider connection (and model); null: no limit on that measure. */
export interface Budget {
  enqueuedTokens: number | null;
  requests: number | null;
  batches: number | null;
}

/** A batch's `admission` option: each measure's limit, null for none, absent for the provider's default. */
export type BudgetOverrides = Partial<Budget>;

/** A part's hold on its budget: the admission workflow holding it, and the request id. */
export interface AdmissionTicket {
  workflowId: string | null;
  id: string;
}
