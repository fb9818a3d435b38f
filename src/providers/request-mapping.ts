/**
 * What every provider's request translation (OpenAI chat -> the provider's format) shares: the line error, the
 * warning list and small JSON guards. Pure.
 */

/** A request that cannot be translated to the provider's format; validation reports it on its line, with the field. */
export class RequestMappingError extends Error {
  /** Path of the offending field, e.g. `body.messages[2].tool_calls[0].function.arguments`. */
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.name = 'RequestMappingError';
    this.field = field;
  }
}

/** Collects warnings, at most one per field, so a field repeated in many messages or tools is reported once. */
export class Warnings {
  private readonly byField = new Map<string, string>();
  add(field: string, message: string): void {
    if (!this.byField.has(field)) this.byField.set(field, `${field}: ${message}`);
  }
  list(): string[] {
    return [...this.byField.values()];
  }
}

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** OpenAI accepts `null` for most optional fields; null and undefined both mean "not set". */
export function isSet<T>(value: T | null | undefined): value is T {
  return value !== undefined && value !== null;
}

/** Short description of a JSON value's kind for error messages. */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

export function requireString(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new RequestMappingError(field, `${field} must be a string, got ${kindOf(value)}`);
  return value;
}

export function requireNumber(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new RequestMappingError(field, `${field} must be a number, got ${kindOf(value)}`);
  }
  return value;
}

export function requireObject(value: unknown, field: string): JsonObject {
  if (!isObject(value)) throw new RequestMappingError(field, `${field} must be an object, got ${kindOf(value)}`);
  return value;
}

export function requireInteger(value: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = requireNumber(value, field);
  if (!Number.isInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? (min === 1 ? 'a positive integer' : `an integer >= ${min}`) : `an integer from ${min} to ${max}`;
    throw new RequestMappingError(field, `${field} must be ${range}, got ${n}`);
  }
  return n;
}

export function requireInRange(value: unknown, field: string, min: number, max: number): number {
  const n = requireNumber(value, field);
  if (n < min || n > max) throw new RequestMappingError(field, `${field} must be from ${min} to ${max}, got ${n}`);
  return n;
}
