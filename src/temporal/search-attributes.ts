/** Registers anybatch's search attributes on a namespace when they are missing. */
import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SearchAttributeType } from '@temporalio/common';
import { SEARCH_ATTRIBUTES } from '../contract/search-attributes';

const IndexedValueType = temporal.api.enums.v1.IndexedValueType;
const PROTO_TYPE: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  [SearchAttributeType.KEYWORD]: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  [SearchAttributeType.INT]: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  [SearchAttributeType.DATETIME]: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  [SearchAttributeType.KEYWORD_LIST]: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
  [SearchAttributeType.DOUBLE]: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
};
const CLI_TYPE: Record<string, string> = {
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.INT]: 'Int',
  [SearchAttributeType.DATETIME]: 'Datetime',
  [SearchAttributeType.KEYWORD_LIST]: 'KeywordList',
  [SearchAttributeType.DOUBLE]: 'Double',
};

/** The command an operator runs when the worker may not register them itself. */
export function searchAttributeCommand(namespace: string): string {
  const args = SEARCH_ATTRIBUTES.map((k) => `--name ${k.name} --type ${CLI_TYPE[k.type]}`).join(' ');
  return `temporal operator search-attribute create --namespace ${namespace} ${args}`;
}

/** Adds the missing search attributes. Returns the names added. */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set([...Object.keys(existing.customAttributes ?? {}), ...Object.keys(existing.systemAttributes ?? {})]);
  const missing = SEARCH_ATTRIBUTES.filter((k) => !known.has(k.name));
  if (missing.length === 0) return [];
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((k) => [k.name, PROTO_TYPE[k.type]])),
    });
  } catch (err) {
    throw new Error(
      `The search attributes ${missing.map((k) => k.name).join(', ')} are missing on namespace "${namespace}" and could not be added ` +
        `(${(err as Error).message}). An operator can add them with:\n  ${searchAttributeCommand(namespace)}`,
    );
  }
  return missing.map((k) => k.name);
}
