/** Anthropic timestamps: RFC 3339 in UTC with microseconds, e.g. `2024-09-24T18:37:24.100435Z`. */
export function rfc3339(ms: number): string {
  const whole = Math.floor(ms);
  const micros = Math.floor((ms - whole) * 1000);
  return new Date(whole).toISOString().replace('Z', `${String(micros).padStart(3, '0')}Z`);
}
