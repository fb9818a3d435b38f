/** Short renderings of user values for issue messages. */

const MAX_QUOTED = 40;

/** A string as JSON, cut short so one long id cannot flood the error message. */
export function quote(value: string): string {
  const shown = value.length > MAX_QUOTED ? `${value.slice(0, MAX_QUOTED)}…` : value;
  return JSON.stringify(shown);
}

/** What a JSON value is, for "must be an object, got ..." messages. */
export function describeKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

const UNITS = ['bytes', 'KB', 'MB', 'GB'] as const;

/** A byte count both readable and exact, e.g. `1.5 MB (1572864 bytes)`. */
export function formatBytes(bytes: number): string {
  let size = bytes;
  let unit = 0;
  while (size >= 1024 && unit < UNITS.length - 1) {
    size /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${size.toFixed(1)} ${UNITS[unit]} (${bytes} bytes)`;
}
