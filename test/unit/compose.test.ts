/**
 * docker-compose.yml cannot run here (no Docker engine), so it is checked statically: it parses, every
 * dependency exists and waits on the right condition, images are pinned by tag and digest, ports are bound to
 * loopback, long-running services have a healthcheck and a restart policy, the dynamic config is the
 * production one, the worker and clients share Temporal and the object store (and no volume), and .dockerignore keeps the
 * build context clean without dropping anything the Dockerfile copies.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

const root = path.join(__dirname, '..', '..');
const read = (file: string): string => fs.readFileSync(path.join(root, file), 'utf8');

interface Healthcheck {
  test?: string[] | string;
  interval?: string;
  timeout?: string;
  retries?: number;
  start_period?: string;
}
interface Service {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  ports?: unknown[];
  command?: unknown;
  profiles?: string[];
  restart?: string;
  healthcheck?: Healthcheck;
}
const composeText = read('docker-compose.yml');
const compose = parse(composeText, { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const services = compose.services;
const dockerfile = read('Dockerfile');

/** Runs until stopped (`up` starts it, no profile) and is not a one-shot that retries on failure. */
function isLongRunning(s: Service): boolean {
  return !s.profiles?.length && !/^on-failure/.test(s.restart ?? '');
}
const longRunning = Object.entries(services).filter(([, s]) => isLongRunning(s));
/** Long-running services that only start with their profile (`metrics`). */
const profiledLongRunning = Object.entries(services).filter(([, s]) => !!s.profiles?.length && s.restart === 'unless-stopped');
const oneShots = Object.entries(services).filter(([, s]) => !s.profiles?.length && !isLongRunning(s));

const PINNED = /^[a-z0-9][a-z0-9._/-]*:[A-Za-z0-9][A-Za-z0-9._-]*@sha256:[0-9a-f]{64}$/;
const imageTag = (image: string): string => image.split('@')[0].split(':').pop()!;

test('the stack has the production layout', () => {
  expect(Object.keys(services).sort()).toEqual([
    'cli', 'gateway', 'grafana', 'objectstore', 'postgresql', 'prometheus', 'sandbox', 'storage-init', 'temporal', 'temporal-namespace', 'temporal-schema', 'temporal-ui', 'worker',
  ]);
  expect(profiledLongRunning.map(([n]) => n).sort()).toEqual(['grafana', 'prometheus']);
  expect(longRunning.map(([n]) => n).sort()).toEqual(['gateway', 'objectstore', 'postgresql', 'sandbox', 'temporal', 'temporal-ui', 'worker']);
  expect(oneShots.map(([n]) => n).sort()).toEqual(['storage-init', 'temporal-namespace', 'temporal-schema']);
});

test('every pulled image is pinned by tag and digest; the built image has a version tag', () => {
  for (const [name, s] of Object.entries(services)) {
    expect(s.image).toBeDefined();
    if (s.build !== undefined) {
      // Built here from the Dockerfile (whose bases are pinned by digest, below).
      expect(`${name}: ${s.image}`).toMatch(/^[^:]+: anybatch:[0-9][^:@]*$/);
    } else {
      expect(`${name}: ${s.image}`).toMatch(new RegExp(`^${name}: ${PINNED.source.slice(1)}`));
    }
  }
});

test('Temporal server and admin-tools run the same version (the schema one-shot applies that version)', () => {
  const server = imageTag(services.temporal.image!);
  expect(imageTag(services['temporal-schema'].image!)).toBe(server);
  expect(imageTag(services['temporal-namespace'].image!)).toBe(server);
  expect(services.temporal.image).toMatch(/^temporalio\/server:/);
  expect(services['temporal-ui'].image).toMatch(/^temporalio\/ui:2\./);
});

test('the image is Debian-based (Temporal native core needs glibc), pinned by digest, and runs the CLI', () => {
  const bases = [...dockerfile.matchAll(/^FROM\s+(?:--\S+\s+)*(\S+)/gim)].map((m) => m[1]);
  expect(bases.length).toBeGreaterThan(0);
  for (const b of bases) {
    expect(b).not.toMatch(/alpine/);
    expect(b).toMatch(PINNED);
    expect(b).toMatch(/^node:20-bookworm-slim@/);
  }
  expect(dockerfile).toMatch(/ENTRYPOINT \["node", "\/app\/dist\/client.js"\]/);
  expect(dockerfile).toMatch(/npm ci/);
});

test('every published port is bound to loopback', () => {
  const published = Object.entries(services).flatMap(([name, s]) => (s.ports ?? []).map((p) => ({ name, p })));
  expect(published.length).toBeGreaterThan(0);
  for (const { name, p } of published) {
    if (typeof p === 'string') expect(`${name}: ${p}`).toMatch(/^[^:]+: 127\.0\.0\.1:\d+:\d+$/);
    else expect({ name, host_ip: (p as { host_ip?: string }).host_ip }).toEqual({ name, host_ip: '127.0.0.1' });
  }
  expect(services['temporal-ui'].ports).toContain('127.0.0.1:8080:8080');
  expect(services.temporal.ports).toContain('127.0.0.1:7233:7233');
  expect(services.sandbox.ports).toContain('127.0.0.1:8089:8089');
  // The header comment tells how to expose them.
  expect(composeText).toMatch(/^#.*127\.0\.0\.1.*\n(#.*\n)*#.*(expose|reach|other machines)/im);
});

test('every long-running service has a healthcheck and restarts unless stopped; one-shots retry a few times', () => {
  for (const [name, s] of [...longRunning, ...profiledLongRunning]) {
    const check = s.healthcheck;
    expect({ name, test: Array.isArray(check?.test) ? check!.test[0] : check?.test }).toEqual({ name, test: expect.stringMatching(/^CMD(-SHELL)?$/) });
    expect({ name, restart: s.restart }).toEqual({ name, restart: 'unless-stopped' });
  }
  for (const [name, s] of oneShots) expect(`${name}: ${s.restart}`).toMatch(/: on-failure:\d+$/);
});

test('healthchecks use tools that exist in their images and routes that exist', () => {
  const cmd = (name: string): string => (services[name].healthcheck!.test as string[]).join(' ');
  expect(cmd('postgresql')).toMatch(/pg_isready/);
  expect(cmd('temporal')).toMatch(/\bnc -z 127\.0\.0\.1 7233\b/); // Alpine image: busybox nc
  expect(cmd('objectstore')).toMatch(/^CMD nc -z 127\.0\.0\.1 7070$/); // versitygw's image is Alpine too
  expect(cmd('temporal-ui')).toMatch(/^CMD wget .*http:\/\/127\.0\.0\.1:8080\/healthz$/); // the UI server's health route
  // The anybatch image has Node but no curl: the sandbox is probed with fetch on a route it serves.
  const sandboxCheck = cmd('sandbox');
  expect(sandboxCheck).toMatch(/^CMD node -e .*fetch\(/);
  const route = /http:\/\/127\.0\.0\.1:8089(\/[^'"\s)]+)/.exec(sandboxCheck)?.[1];
  expect(route).toBeDefined();
  expect(read('src/sandbox/server.ts')).toContain(`pathname === '${route}'`);
  // The gateway is probed the same way, on its health route (src/gateway/server.ts), and runs `anybatch serve`.
  const gatewayCheck = cmd('gateway');
  expect(gatewayCheck).toMatch(/^CMD node -e .*fetch\(/);
  const gatewayRoute = /http:\/\/127\.0\.0\.1:8090(\/[^'"\s)]+)/.exec(gatewayCheck)?.[1];
  expect(gatewayRoute).toBe('/healthz');
  expect(read('src/gateway/server.ts')).toContain(`url.pathname === '${gatewayRoute}'`);
  expect(services.gateway.command).toEqual(expect.arrayContaining(['serve', '--port', '8090']));
  expect(read('src/cli/main.ts')).toMatch(/registerServeCommand\(program/);
  // The worker is probed with `anybatch health` (src/cli/health.ts, registered in the CLI).
  expect(services.worker.healthcheck!.test).toEqual(['CMD', 'node', '/app/dist/client.js', 'health']);
  expect(read('src/cli/main.ts')).toMatch(/registerHealthCommand\(program\)/);
});

test('every dependency names a service and waits for it to be healthy (long-running) or done (one-shot)', () => {
  const longNames = new Set([...longRunning, ...profiledLongRunning].map(([n]) => n));
  const oneShotNames = new Set(oneShots.map(([n]) => n));
  for (const [name, s] of Object.entries(services)) {
    for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
      expect(Object.keys(services)).toContain(dep);
      if (longNames.has(dep)) expect(`${name} -> ${dep}: ${condition}`).toBe(`${name} -> ${dep}: service_healthy`);
      else if (oneShotNames.has(dep)) expect(`${name} -> ${dep}: ${condition}`).toBe(`${name} -> ${dep}: service_completed_successfully`);
      else throw new Error(`${name} depends on ${dep}, which is neither long-running nor a one-shot`);
    }
  }
  expect(Object.keys(services.temporal.depends_on ?? {}).sort()).toEqual(['postgresql', 'temporal-schema']);
  expect(Object.keys(services.worker.depends_on ?? {})).toEqual(expect.arrayContaining(['temporal', 'temporal-namespace']));
});

test('worker, cli and sandbox reach Temporal; worker, cli and the bucket one-shot use the same object store', () => {
  for (const name of ['worker', 'cli', 'sandbox', 'gateway']) expect(services[name].environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
  const storageEnv = (name: string) => {
    const e = services[name].environment ?? {};
    return { name, storage: e.ANYBATCH_STORAGE, endpoint: e.AWS_ENDPOINT_URL_S3, pathStyle: e.ANYBATCH_S3_PATH_STYLE, key: e.AWS_ACCESS_KEY_ID, secret: e.AWS_SECRET_ACCESS_KEY };
  };
  const expected = storageEnv('worker');
  expect(expected.storage).toMatch(/^s3:\/\/[a-z0-9.-]+\/[^/]+$/);
  expect(expected.endpoint).toBe('http://objectstore:7070');
  expect(expected.pathStyle).toBe('true');
  for (const name of ['cli', 'storage-init', 'gateway']) expect(storageEnv(name)).toEqual({ ...expected, name });
  // The store's root keys are the clients' credentials (from the same variables).
  const store = services.objectstore.environment ?? {};
  expect(store.ROOT_ACCESS_KEY_ID).toBe(expected.key);
  expect(store.ROOT_SECRET_ACCESS_KEY).toBe(expected.secret);
  expect(services.objectstore.command).toEqual(['--port', ':7070', 'posix', '/data']);
  expect(services.objectstore.volumes).toEqual(['objectstore-data:/data']);
  expect(services.objectstore.ports).toContain('127.0.0.1:7070:7070');
  // The bucket exists before the worker starts: the one-shot runs `anybatch storage init` once the store is up.
  expect(services['storage-init'].command).toEqual(['storage', 'init']);
  expect(services['storage-init'].depends_on).toEqual({ objectstore: { condition: 'service_healthy' } });
  expect(services.worker.depends_on?.['storage-init']).toEqual({ condition: 'service_completed_successfully' });
  expect(read('src/cli/main.ts')).toMatch(/registerStorageCommand\(program\)/);
  expect(read('src/cli/storage.ts')).toMatch(/\.command\('init'\)/);
  // No volume is shared between the worker and any client: only Temporal and the object store are.
  const named = (name: string) => (services[name].volumes ?? []).map((v) => v.split(':')[0]).filter((v) => !/^[./]/.test(v));
  for (const other of ['cli', 'sandbox', 'storage-init', 'gateway']) {
    expect({ other, shared: named(other).filter((v) => named('worker').includes(v)) }).toEqual({ other, shared: [] });
  }
  expect(Object.keys(compose.volumes).sort()).toEqual(['grafana-data', 'objectstore-data', 'postgres-data', 'prometheus-data', 'worker-scratch']);
  // With no shared folder, the key that seals provider credentials cannot be a shared secret.key: compose
  // refuses to start without ANYBATCH_SECRET_KEY, and clients and the worker get the same one.
  const secret = services.worker.environment?.ANYBATCH_SECRET_KEY;
  expect(secret).toMatch(/^\$\{ANYBATCH_SECRET_KEY:\?[^}]+\}$/);
  expect(services.cli.environment?.ANYBATCH_SECRET_KEY).toBe(secret);
  expect(services.worker.command).toEqual(['worker']);
  expect(services['temporal-ui'].environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
});

test('the cli profile mounts input files read-only and the header shows how to use them', () => {
  expect(services.cli.profiles).toEqual(['cli']);
  const inputs = (services.cli.volumes ?? []).filter((v) => /^\.{1,2}\/[^:]*:\/inputs:ro$/.test(v));
  expect(inputs).toHaveLength(1);
  expect(composeText).toMatch(/^#.*docker compose run --rm cli create \/inputs\/your\.jsonl/m);
});

test('the dynamic config file is the production one, minimal and mounted read-only', () => {
  const file = services.temporal.environment?.DYNAMIC_CONFIG_FILE_PATH ?? '';
  expect(file).toMatch(/^config\/dynamicconfig\/[^/]+\.yaml$/);
  expect(path.basename(file)).not.toMatch(/develop/i);
  expect(services.temporal.volumes).toContain('./deploy/dynamicconfig:/etc/temporal/config/dynamicconfig:ro');
  const local = path.join(root, 'deploy', 'dynamicconfig', path.basename(file));
  expect(fs.existsSync(local)).toBe(true);
  expect(fs.readdirSync(path.join(root, 'deploy', 'dynamicconfig')).filter((f) => /develop/i.test(f))).toEqual([]);
  const config = parse(fs.readFileSync(local, 'utf8')) as Record<string, Array<{ value: unknown; constraints?: object }>>;
  const value = (key: string): unknown => config[key]?.[0]?.value;
  expect(value('frontend.enableUpdateWorkflowExecution')).toBe(true); // createBatch waits on a workflow Update
  expect(value('system.forceSearchAttributesCacheRefreshOnRead')).not.toBe(true); // dev/test only, per Temporal
  for (const [key, entries] of Object.entries(config)) {
    expect({ key, ok: Array.isArray(entries) && entries.length > 0 && entries.every((e) => 'value' in e) }).toEqual({ key, ok: true });
  }
  // Every setting carries a comment saying why it is there.
  const lines = fs.readFileSync(local, 'utf8').split('\n');
  for (const key of Object.keys(config)) {
    const at = lines.findIndex((l) => l.startsWith(`${key}:`));
    expect({ key, commented: at > 0 && lines[at - 1].startsWith('#') }).toEqual({ key, commented: true });
  }
});

test('the Temporal server broadcasts an address its ring accepts', () => {
  // Ringpop refuses a hostname as broadcastAddress; with BIND_ON_IP=0.0.0.0 the image's entrypoint sets the IP.
  const env = services.temporal.environment ?? {};
  expect(env.BIND_ON_IP).toBe('0.0.0.0');
  if (env.TEMPORAL_BROADCAST_ADDRESS !== undefined) expect(env.TEMPORAL_BROADCAST_ADDRESS).toMatch(/^[0-9.]+$|:/);
});

// --- .dockerignore -------------------------------------------------------------------------------------

interface IgnoreRule {
  negate: boolean;
  re: RegExp;
}

/** A .dockerignore pattern as Docker reads it: `**` spans directories, `*` and `?` stay within one. */
function patternToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*' && pattern[i + 1] === '*') {
      i++;
      if (pattern[i + 1] === '/') {
        i++;
        re += '(?:.*/)?';
      } else re += '.*';
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+()^$|{}[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function ignoreRules(text: string): IgnoreRule[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = path.posix.normalize((negate ? l.slice(1) : l).trim()).replace(/^\/+/, '').replace(/\/+$/, '');
      return { negate, re: patternToRegExp(pattern) };
    });
}

/** Excluded when the last rule matching the path (or one of its parent folders) is not a negation. */
function excluded(rules: IgnoreRule[], file: string): boolean {
  const parts = file.split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let out = false;
  for (const rule of rules) if (candidates.some((c) => rule.re.test(c))) out = !rule.negate;
  return out;
}

function filesUnder(rel: string): string[] {
  const abs = path.join(root, rel);
  if (!fs.statSync(abs).isDirectory()) return [rel];
  return fs.readdirSync(abs).flatMap((entry) => filesUnder(path.posix.join(rel, entry)));
}

/** The build-context sources of the Dockerfile's COPY lines (not `COPY --from=` a stage). */
function copySources(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^COPY\s+(.+)$/gim)) {
    const args = m[1].trim().split(/\s+/);
    if (args.some((a) => a.startsWith('--from'))) continue;
    const paths = args.filter((a) => !a.startsWith('--'));
    out.push(...paths.slice(0, -1));
  }
  return out;
}

test('.dockerignore keeps dependencies, data, keys and local output out of the build context', () => {
  const rules = ignoreRules(read('.dockerignore'));
  for (const file of [
    'node_modules/commander/package.json',
    'src/node_modules/x.js',
    '.tools/temporal',
    'dist/client.js',
    '.anybatch/secret.key',
    '.anybatch/staged/ab_1/input.jsonl',
    '.anybatch-tools.json',
    'inputs/your.jsonl',
    'temporal.db',
    'secret.key',
    'home/secret.key',
    'tls.key',
    '.env',
    '.env.production',
    '.git/HEAD',
    'coverage/lcov.info',
    'test/unit/compose.test.ts',
    'npm-debug.log',
  ]) {
    expect({ file, excluded: excluded(rules, file) }).toEqual({ file, excluded: true });
  }
});

test('.dockerignore excludes nothing the Dockerfile copies', () => {
  const rules = ignoreRules(read('.dockerignore'));
  const sources = copySources(dockerfile);
  expect(sources).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'client.ts', 'worker.ts', 'src', 'bench', 'scripts', 'examples']));
  for (const source of sources) {
    expect({ source, exists: fs.existsSync(path.join(root, source)) }).toEqual({ source, exists: true });
    for (const file of filesUnder(source)) expect({ file, excluded: excluded(rules, file) }).toEqual({ file, excluded: false });
  }
});

describe('the metrics profile', () => {
  const dashboard = JSON.parse(read('monitoring/grafana/dashboards/anybatch.json')) as {
    uid: string;
    panels: Array<{ title: string; datasource: { uid: string }; targets: Array<{ expr: string }> }>;
  };
  const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));

  test('Prometheus and Grafana start only with the profile, and Prometheus scrapes the worker where it serves /metrics', () => {
    expect(services.prometheus.profiles).toEqual(['metrics']);
    expect(services.grafana.profiles).toEqual(['metrics']);
    const address = services.worker.environment?.ANYBATCH_METRICS_ADDRESS;
    expect(address).toMatch(/^0\.0\.0\.0:\d+$/);
    const port = address!.split(':')[1];
    // The worker's metrics stay on the compose network: not published.
    expect((services.worker.ports ?? []).join(' ')).not.toContain(port);
    const scrape = parse(read('monitoring/prometheus.yml')) as { scrape_configs: Array<{ metrics_path: string; static_configs: Array<{ targets: string[] }> }> };
    expect(scrape.scrape_configs[0].metrics_path).toBe('/metrics');
    expect(scrape.scrape_configs[0].static_configs[0].targets).toEqual([`worker:${port}`]);
    expect(services.prometheus.volumes).toContain('./monitoring/prometheus.yml:/etc/prometheus/prometheus.yml:ro');
    // The worker's environment is the shared one plus the metrics address (same store and Temporal as before).
    expect(services.worker.environment?.ANYBATCH_STORAGE).toBe(services.cli.environment?.ANYBATCH_STORAGE);
  });

  test('Grafana is provisioned with that Prometheus and the dashboard, which reads only metrics the worker exports', () => {
    const ds = parse(read('monitoring/grafana/provisioning/datasources/prometheus.yml')) as { datasources: Array<{ uid: string; url: string }> };
    expect(ds.datasources[0].url).toBe('http://prometheus:9090');
    for (const p of dashboard.panels) expect({ panel: p.title, uid: p.datasource.uid }).toEqual({ panel: p.title, uid: ds.datasources[0].uid });
    const provider = parse(read('monitoring/grafana/provisioning/dashboards/anybatch.yml')) as { providers: Array<{ options: { path: string } }> };
    const dashboardsMount = (services.grafana.volumes ?? []).find((v) => v.startsWith('./monitoring/grafana/dashboards:'));
    expect(dashboardsMount).toBe(`./monitoring/grafana/dashboards:${provider.providers[0].options.path}:ro`);
    expect(services.grafana.volumes).toContain('./monitoring/grafana/provisioning:/etc/grafana/provisioning:ro');
    // Every anybatch_ series the dashboard reads is one src/activities/metrics.ts makes (counters as _total, histograms as _bucket/_sum).
    const made = [...read('src/activities/metrics.ts').matchAll(/create(Counter|Histogram)\('(anybatch_[a-z_]+)'/g)].map((m) => ({ kind: m[1], name: m[2] }));
    const series = new Set(made.flatMap(({ kind, name }) => (kind === 'Counter' ? [`${name}_total`] : [`${name}_bucket`, `${name}_sum`, `${name}_count`])));
    const read_ = exprs.flatMap((e) => [...e.matchAll(/\banybatch_[a-z_]+/g)].map((m) => m[0]));
    expect(read_.length).toBeGreaterThan(5);
    for (const name of read_) expect({ name, known: series.has(name) }).toEqual({ name, known: true });
    // And every kind of metric the worker makes has a panel.
    for (const { name } of made) expect({ name, shown: exprs.some((e) => e.includes(name)) }).toEqual({ name, shown: true });
    expect(exprs.some((e) => e.includes('temporal_'))).toBe(true);
  });

  test('both images are pinned, published on loopback only, and checked on their health routes', () => {
    expect(services.prometheus.ports).toEqual(['127.0.0.1:9090:9090']);
    expect(services.grafana.ports).toEqual(['127.0.0.1:3000:3000']);
    expect((services.prometheus.healthcheck!.test as string[]).join(' ')).toMatch(/^CMD wget .*http:\/\/127\.0\.0\.1:9090\/-\/ready$/);
    expect((services.grafana.healthcheck!.test as string[]).join(' ')).toMatch(/^CMD wget .*http:\/\/127\.0\.0\.1:3000\/api\/health$/);
    expect(services.prometheus.image).toMatch(/^prom\/prometheus:v3\./);
    expect(services.grafana.image).toMatch(/^grafana\/grafana:12\./);
  });
});
