/**
 * Which admission workflow a batch's parts go through: one per provider connection and model (or per connection,
 * for providers whose queue limits hold across models). The connection is named by a hash of its base URL and
 * of a hash of its API key, so different organizations get different budgets and no key ever appears in an id.
 */
import crypto from 'node:crypto';
import type { BudgetScope } from './messages';

export const ADMISSION_ID_PREFIX = 'anybatch-admission';

const sha256 = (text: string): string => crypto.createHash('sha256').update(text).digest('hex');

/** 16 hex characters naming a connection: sha256(base URL, sha256(key)); never the key itself. */
export function connectionHash(baseURL: string, apiKey: string): string {
  return sha256(`${baseURL}\n${sha256(apiKey)}`).slice(0, 16);
}

/** `anybatch-admission:<provider>:<connection hash>:<model, or * across models>`. */
export function admissionWorkflowId(scope: BudgetScope, connection: string): string {
  return `${ADMISSION_ID_PREFIX}:${scope.provider}:${connection}:${scope.model ?? '*'}`;
}
