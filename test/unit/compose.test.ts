/**
 * docker-compose.yml cannot run here (no Docker engine), so it is checked statically: it parses, every
 * dependency exists, images are pinned, and the worker and clients share Temporal and the data volume.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

const root = path.join(__dirname, '..', '..');
interface Service {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
  command?: unknown;
  profiles?: string[];
}
const compose = parse(fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const services = compose.services;

test('the stack has the production layout', () => {
  expect(Object.keys(services).sort()).toEqual(['cli', 'postgresql', 'sandbox', 'temporal', 'temporal-namespace', 'temporal-schema', 'temporal-ui', 'worker']);
});

test('every image is pinned to a version', () => {
  for (const [name, s] of Object.entries(services)) {
    expect(s.image).toBeDefined();
    expect(`${name}: ${s.image}`).toMatch(/:[0-9][^:]*$/);
  }
});

test('every dependency names a service with a valid condition', () => {
  const conditions = ['service_started', 'service_healthy', 'service_completed_successfully'];
  for (const s of Object.values(services)) {
    for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
      expect(Object.keys(services)).toContain(dep);
      expect(conditions).toContain(condition);
    }
  }
});

test('worker, cli and sandbox reach Temporal and share the data volume at ANYBATCH_HOME', () => {
  for (const name of ['worker', 'cli', 'sandbox']) {
    const s = services[name];
    expect(s.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(s.environment?.ANYBATCH_HOME).toBe('/data');
    expect(s.volumes).toContain('anybatch-data:/data');
  }
  expect(Object.keys(compose.volumes)).toContain('anybatch-data');
  expect(services.worker.command).toEqual(['worker']);
});

test('the Web UI and the frontend are published, and the dynamic config file exists', () => {
  expect(services['temporal-ui'].ports).toContain('8080:8080');
  expect(services.temporal.ports).toContain('7233:7233');
  expect(services['temporal-ui'].environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
  const file = services.temporal.environment?.DYNAMIC_CONFIG_FILE_PATH;
  expect(fs.existsSync(path.join(root, 'deploy', 'dynamicconfig', path.basename(file ?? '')))).toBe(true);
});

test('the image is Debian-based (Temporal native core needs glibc) and runs the CLI', () => {
  const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
  const bases = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
  expect(bases.length).toBeGreaterThan(0);
  for (const b of bases) expect(b).not.toMatch(/alpine/);
  expect(dockerfile).toMatch(/ENTRYPOINT \["node", "\/app\/dist\/client.js"\]/);
  expect(dockerfile).toMatch(/npm ci/);
});
