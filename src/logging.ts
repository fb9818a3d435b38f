/**
 * The worker's log lines: one line per entry (`time [LEVEL] message key=value ...`), an error shown as its message
 * and its causes' messages, its stack trace only at DEBUG and TRACE. So a failing step writes one readable line per
 * attempt (the SDK's `Activity failed` with the step, batch id and attempt), not a stack trace per retry.
 */
import { DefaultLogger } from '@temporalio/worker';
import type { LogEntry, LogLevel } from '@temporalio/worker';

export const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'] as const;

/** ANYBATCH_LOG_LEVEL (TRACE, DEBUG, INFO, WARN, ERROR; default INFO). */
export function logLevel(value = process.env.ANYBATCH_LOG_LEVEL): LogLevel {
  const level = (value ?? 'INFO').toUpperCase();
  return (LOG_LEVELS as readonly string[]).includes(level) ? (level as LogLevel) : 'INFO';
}

/** Errors by shape: those of another realm (or the SDK's failure objects) are not `instanceof Error`. */
function isErrorLike(v: unknown): v is { message: string; stack?: string } {
  return typeof v === 'object' && v !== null && typeof (v as { message?: unknown }).message === 'string';
}

/** An error's message followed by its causes' (`a: caused by b`), never a stack. */
export function errorText(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if (isErrorLike(e)) {
      const code = (e as { code?: unknown }).code;
      const text = `${e.message}${typeof code === 'string' && !e.message.includes(code) ? ` (${code})` : ''}`;
      if (text && !parts.some((p) => p.includes(text))) parts.push(text);
      e = (e as { cause?: unknown }).cause;
    } else {
      parts.push(String(e));
      break;
    }
  }
  return parts.join(': caused by ');
}

function value(v: unknown): string {
  if (isErrorLike(v)) return JSON.stringify(errorText(v));
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'bigint') return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Fields the SDK adds that say nothing to a reader (an opaque token, the logger's own name). */
const NOISE = new Set(['taskToken', 'sdkComponent']);

/** Renders one entry as one line (plus the stacks of its errors when `stacks`). */
export function formatEntry(entry: LogEntry, stacks: boolean): string {
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const fields = Object.entries(entry.meta ?? {})
    .filter(([k, v]) => v !== undefined && !NOISE.has(k))
    .map(([k, v]) => `${k}=${value(v)}`);
  const line = [`${time} [${entry.level}] ${entry.message}`, ...fields].join(' ');
  if (!stacks) return line;
  const traces = Object.values(entry.meta ?? {})
    .filter((v): v is Error => isErrorLike(v) && typeof v.stack === 'string')
    .map((e) => e.stack!.split('\n').map((l) => `    ${l}`).join('\n'));
  return [line, ...traces].join('\n');
}

export function workerLogger(level: LogLevel = logLevel(), write: (line: string) => void = (l) => process.stderr.write(l + '\n')): DefaultLogger {
  const stacks = level === 'DEBUG' || level === 'TRACE';
  return new DefaultLogger(level, (entry) => write(formatEntry(entry, stacks)));
}
