/**
 * The peer for `npm run bench`: mozilla-ai's any-llm (PyPI `any-llm-sdk`, pinned below) in its own virtualenv
 * under .tools/peer, installed on first use. bench/peer.py runs one call per process.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../src/temporal/tools';
import { measureCommand } from './harness';

export const PEER_PACKAGE = 'any-llm-sdk[openai]==1.40.2';
const ROOT = packageRoot();
const VENV = path.join(ROOT, '.tools', 'peer');
const PYTHON = path.join(VENV, 'bin', 'python');
const SCRIPT = path.join(ROOT, 'bench', 'peer.py');

/** Installs the peer when missing; returns why it is unavailable, or null when it is ready. */
export function ensurePeer(log: (line: string) => void): string | null {
  const ready = () => spawnSync(PYTHON, ['-c', 'import any_llm'], { stdio: 'ignore' }).status === 0;
  if (fs.existsSync(PYTHON) && ready()) return null;
  log(`bench: installing the peer (${PEER_PACKAGE}) into ${path.relative(ROOT, VENV)}`);
  const python = process.env.PYTHON ?? 'python3';
  const venv = spawnSync(python, ['-m', 'venv', VENV], { encoding: 'utf8' });
  if (venv.status !== 0) return `could not create a virtualenv with ${python}: ${venv.stderr.trim() || venv.error?.message}`;
  const pip = spawnSync(PYTHON, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', PEER_PACKAGE], { encoding: 'utf8' });
  if (pip.status !== 0) return `pip install ${PEER_PACKAGE} failed: ${pip.stderr.trim().split('\n').slice(-3).join(' ')}`;
  return ready() ? null : 'any_llm does not import after installation';
}

export interface PeerRun {
  /** Wall time of the whole process (Python start and `import any_llm` included). */
  seconds: number;
  /** Wall time of the any-llm call alone. */
  callSeconds: number;
  peakRssMb: number;
  report: Record<string, unknown>;
  error: string | null;
}

export async function runPeer(action: 'create' | 'results', target: string, apiBase: string): Promise<PeerRun> {
  const run = await measureCommand(PYTHON, [SCRIPT, action, target, '--api-base', apiBase], {});
  const last = run.stdout.trim().split('\n').pop() ?? '';
  let report: Record<string, unknown> = {};
  try {
    report = JSON.parse(last) as Record<string, unknown>;
  } catch {
    return { seconds: run.seconds, callSeconds: NaN, peakRssMb: run.peakRssMb, report, error: `peer printed no report: ${run.stderr.trim().split('\n').slice(-3).join(' ')}` };
  }
  const ownRss = Number(report.peak_rss_kb) / 1024;
  return {
    seconds: run.seconds,
    callSeconds: Number(report.call_seconds),
    peakRssMb: Number.isFinite(run.peakRssMb) ? run.peakRssMb : ownRss,
    report,
    error: typeof report.error === 'string' ? report.error : null,
  };
}
