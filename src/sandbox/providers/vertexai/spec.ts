/**
 * The create request's body, checked the way Vertex refuses one (400 INVALID_ARGUMENT, its "List of found errors"
 * wording): `{displayName, model, inputConfig: {instancesFormat: "jsonl", gcsSource: {uris}}, outputConfig:
 * {predictionsFormat: "jsonl", gcsDestination: {outputUriPrefix}}, labels?}` (docs/provider-apis-3.md section 2;
 * @google/genai's `createBatchJobParametersToVertex`). BigQuery and dataset sources are not served.
 */
import { isPlainObject } from '../../kernel/http';
import { vertexError } from './errors';
import { parseModel, type VertexModel } from './model';

export interface GcsUri {
  bucket: string;
  /** The object name, or for a prefix the path below the bucket ('' for the bucket's root). */
  name: string;
}

export interface JobSpec {
  displayName: string;
  model: VertexModel;
  inputUris: string[];
  inputs: GcsUri[];
  outputUriPrefix: string;
  output: GcsUri;
  labels: Record<string, string>;
}

/** Vertex allows 64 labels, keys and values of at most 63 characters. */
const MAX_LABELS = 64;
const MAX_LABEL_CHARS = 63;

function fieldError(field: string, message: string): Error {
  return vertexError(400, `List of found errors:\t1.Field: batch_prediction_job.${field}; Message: ${message}\t`);
}

export function parseGsUri(uri: string): GcsUri | null {
  const match = /^gs:\/\/([^/]+)(?:\/(.*))?$/.exec(uri);
  return match ? { bucket: match[1], name: match[2] ?? '' } : null;
}

function labelsOf(raw: unknown): Record<string, string> {
  if (raw === undefined) return {};
  if (!isPlainObject(raw)) throw fieldError('labels', 'labels must be a map of strings.');
  const entries = Object.entries(raw);
  if (entries.length > MAX_LABELS) throw fieldError('labels', `at most ${MAX_LABELS} labels are allowed.`);
  for (const [key, value] of entries) {
    if (typeof value !== 'string') throw fieldError(`labels.${key}`, 'label values must be strings.');
    if (key === '' || key.length > MAX_LABEL_CHARS || value.length > MAX_LABEL_CHARS) throw fieldError(`labels.${key}`, `label keys (non-empty) and values hold at most ${MAX_LABEL_CHARS} characters.`);
  }
  return raw as Record<string, string>;
}

export function parseJobSpec(body: unknown): JobSpec {
  if (!isPlainObject(body)) throw vertexError(400, 'Invalid JSON payload received. The body must be a BatchPredictionJob object.');
  const { displayName, model, inputConfig, outputConfig } = body;
  if (typeof displayName !== 'string' || displayName === '') throw fieldError('display_name', 'Required field is not set.');
  if (typeof model !== 'string' || model === '') throw fieldError('model', 'Required field is not set.');
  const parsed = parseModel(model);
  if (typeof parsed === 'string') throw vertexError(400, parsed);
  if (!isPlainObject(inputConfig)) throw fieldError('input_config', 'Required field is not set.');
  if (inputConfig.instancesFormat !== 'jsonl') throw fieldError('input_config.instances_format', `The sandbox serves instancesFormat "jsonl" only, got ${JSON.stringify(inputConfig.instancesFormat)}.`);
  const source = isPlainObject(inputConfig.gcsSource) ? inputConfig.gcsSource : null;
  const uris = source && Array.isArray(source.uris) ? source.uris : null;
  if (!uris || uris.length === 0) throw fieldError('input_config.gcs_source.uris', 'Required field is not set.');
  const inputs = uris.map((uri) => (typeof uri === 'string' ? parseGsUri(uri) : null));
  const bad = inputs.findIndex((u) => u === null || u.name === '');
  if (bad >= 0) throw fieldError('input_config.gcs_source.uris', `${JSON.stringify(uris[bad])} is not a gs://bucket/object URI.`);
  if (!isPlainObject(outputConfig)) throw fieldError('output_config', 'Required field is not set.');
  if (outputConfig.predictionsFormat !== 'jsonl') throw fieldError('output_config.predictions_format', `The sandbox serves predictionsFormat "jsonl" only, got ${JSON.stringify(outputConfig.predictionsFormat)}.`);
  const destination = isPlainObject(outputConfig.gcsDestination) ? outputConfig.gcsDestination : null;
  const prefix = destination?.outputUriPrefix;
  const output = typeof prefix === 'string' ? parseGsUri(prefix) : null;
  if (!output || typeof prefix !== 'string') throw fieldError('output_config.gcs_destination.output_uri_prefix', 'A gs://bucket/path prefix is required.');
  return {
    displayName,
    model: parsed,
    inputUris: uris as string[],
    inputs: inputs as GcsUri[],
    outputUriPrefix: prefix,
    output,
    labels: labelsOf(body.labels),
  };
}
