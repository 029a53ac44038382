/**
 * deploy/: the Kubernetes manifest, the Dockerfile and the systemd unit agree with the agent:
 * they parse, every flag they pass is one flanneld accepts, the paths they mount are the ones
 * flanneld and the CNI plugin use, the RBAC rules grant exactly the API calls the agent makes, and
 * every install runs flannel-ts's own self-contained executables (no Node.js, no Go flannel image).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { knownBackendTypes } from '../../../src/backend/registry.js';
import { FLANNELD_FLAGS } from '../../../src/cli/flanneld-flags.js';
import { parseFlanneldOptions, type FlanneldOptions } from '../../../src/cli/flanneld-options.js';
import { parseNetworkConfig } from '../../../src/config/network-config.js';
import { KUBE_API_CALLS } from '../../../src/subnet/kube/kube-api.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const read = (p: string) => readFileSync(`${ROOT}${p}`, 'utf8');

/* eslint-disable @typescript-eslint/no-explicit-any -- manifests are free-form YAML */
const docs: any[] = parseAllDocuments(read('deploy/kube-flannel-ts.yml')).map((d) => {
  assert.deepEqual(d.errors, [], 'YAML errors');
  return d.toJS();
});
const byKind = (kind: string) => docs.filter((d) => d?.kind === kind);
const one = (kind: string) => {
  const all = byKind(kind);
  assert.equal(all.length, 1, `one ${kind}`);
  return all[0];
};

const ds = one('DaemonSet');
const pod = ds.spec.template.spec;
const agent = pod.containers.find((c: any) => c.name === 'kube-flannel');
const volumes = new Map<string, any>(pod.volumes.map((v: any) => [v.name, v]));
const env = Object.fromEntries((agent.env ?? []).map((e: any) => [e.name, e.value ?? `<${e.valueFrom?.fieldRef?.fieldPath}>`]));

/** The host path (or config map) a container path lands in, through the container's mounts. */
function resolveMount(container: any, path: string): { volume: any; rest: string } | undefined {
  for (const m of container.volumeMounts ?? []) {
    const dir = String(m.mountPath).replace(/\/$/, '');
    if (path === dir || path.startsWith(`${dir}/`)) return { volume: volumes.get(m.name), rest: path.slice(dir.length + 1) };
  }
  return undefined;
}

function agentOptions(args: string[], environment: Record<string, string> = {}): FlanneldOptions {
  const r = parseFlanneldOptions(args, environment);
  assert.ok(!('help' in r) && !('version' in r));
  return r;
}

interface DockerStage {
  from: string;
  name: string | undefined;
  /** Instructions with continuation lines joined: [keyword, rest]. */
  steps: [string, string][];
}

/** deploy/Dockerfile as stages of instructions (comments dropped, `\` continuations joined). */
function dockerStages(text: string): DockerStage[] {
  const stages: DockerStage[] = [];
  const logical = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  for (const line of logical) {
    const [, keyword = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    if (keyword.toUpperCase() === 'FROM') {
      const [from = '', as, name] = rest.split(/\s+/);
      stages.push({ from, name: as?.toUpperCase() === 'AS' ? name : undefined, steps: [] });
    } else {
      const stage = stages.at(-1);
      assert.ok(stage, `${keyword} before FROM`);
      stage.steps.push([keyword.toUpperCase(), rest]);
    }
  }
  return stages;
}

const dockerfile = dockerStages(read('deploy/Dockerfile'));
const finalStage = dockerfile.at(-1) as DockerStage;
const buildStage = dockerfile.find((st) => st.name === 'build') as DockerStage;
const workdirOf = (st: DockerStage) => st.steps.filter(([k]) => k === 'WORKDIR').at(-1)?.[1];
/** Where the image holds each file the final stage copies from the build stage (name -> path). */
const shipped = new Map<string, { from: string; to: string }>();
for (const [k, rest] of finalStage.steps) {
  if (k !== 'COPY') continue;
  const parts = rest.split(/\s+/);
  assert.equal(parts[0], '--from=build', `the final stage copies only from the build stage: COPY ${rest}`);
  const dest = parts.at(-1) as string;
  for (const src of parts.slice(1, -1)) {
    const base = src.split('/').at(-1) as string;
    shipped.set(base, { from: src, to: dest.endsWith('/') ? `${dest}${base}` : dest });
  }
}
/** ENTRYPOINT ["..."] as argv. */
const entrypoint = JSON.parse(finalStage.steps.find(([k]) => k === 'ENTRYPOINT')?.[1] ?? 'null') as string[] | null;
const memoryMiB = (q: string) => {
  const m = /^(\d+)Mi$/.exec(q);
  assert.ok(m, `memory quantity ${q} in Mi`);
  return Number(m[1]);
};

describe('deploy/kube-flannel-ts.yml', () => {
  it('has the objects of kube-flannel.yml, all in one namespace', () => {
    const ns = one('Namespace').metadata.name;
    assert.equal(one('Namespace').metadata.labels['pod-security.kubernetes.io/enforce'], 'privileged');
    for (const kind of ['ServiceAccount', 'ConfigMap', 'DaemonSet']) assert.equal(one(kind).metadata.namespace, ns, kind);
    one('ClusterRole');
    one('ClusterRoleBinding');
  });

  it('binds the ClusterRole to the service account the DaemonSet runs as', () => {
    const binding = one('ClusterRoleBinding');
    assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: one('ClusterRole').metadata.name });
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: one('ServiceAccount').metadata.name, namespace: one('ServiceAccount').metadata.namespace }]);
    assert.equal(pod.serviceAccountName, one('ServiceAccount').metadata.name);
  });

  it('grants exactly the API calls the agent makes (pods get only without NODE_NAME)', () => {
    const granted = new Set<string>();
    for (const rule of one('ClusterRole').rules) {
      for (const g of rule.apiGroups) for (const r of rule.resources) for (const v of rule.verbs) granted.add(`${g}|${r}|${v}`);
    }
    const needed = new Set(KUBE_API_CALLS.filter((c) => !(c.unlessEnv && env[c.unlessEnv])).map((c) => `${c.apiGroup}|${c.resource}|${c.verb}`));
    for (const n of needed) assert.ok(granted.has(n), `the ClusterRole must grant ${n}`);
    for (const g of granted) assert.ok(needed.has(g), `the ClusterRole grants ${g}, which the agent never uses`);
  });

  it('runs flanneld in kube mode with flags it accepts, NODE_NAME from the downward API', () => {
    assert.deepEqual(agent.command, [shipped.get('flanneld')?.to], 'the flanneld executable the Dockerfile installs');
    const o = agentOptions(agent.args);
    assert.equal(o.kubeSubnetMgr, true);
    assert.equal(o.ipMasq, true);
    for (const a of agent.args as string[]) {
      const name = a.replace(/^--?/, '').split('=')[0];
      assert.ok(FLANNELD_FLAGS.some((f) => f.name === name), `flag ${a}`);
    }
    assert.equal(env['NODE_NAME'], '<spec.nodeName>');
  });

  it('mounts what flanneld reads and writes where it looks for it', () => {
    const o = agentOptions(agent.args);
    const conf = resolveMount(agent, o.netConfigPath);
    assert.ok(conf?.volume?.configMap, `${o.netConfigPath} comes from the ConfigMap`);
    assert.equal(conf.volume.configMap.name, one('ConfigMap').metadata.name);
    assert.ok(one('ConfigMap').data[conf.rest], `the ConfigMap has ${conf.rest}`);
    const run = resolveMount(agent, o.subnetFile);
    assert.equal(run?.volume?.hostPath?.path, '/run/flannel', 'subnet.env lands in the host /run/flannel, where the CNI plugin reads it');
    const lock = resolveMount(agent, '/run/xtables.lock');
    assert.deepEqual(lock?.volume?.hostPath, { path: '/run/xtables.lock', type: 'FileOrCreate' });
  });

  it('has a net-conf.json the agent accepts and a CNI config list for the flannel plugin', () => {
    const cm = one('ConfigMap').data;
    const conf = parseNetworkConfig(cm['net-conf.json'], { knownBackends: knownBackendTypes(), checkSubnetRanges: false });
    assert.equal(conf.backendType, 'vxlan');
    const cni = JSON.parse(cm['cni-conf.json']);
    assert.equal(cni.plugins[0].type, 'flannel');
  });

  it("installs flannel-ts's own CNI plugin executable from the image, atomically, and the CNI config", () => {
    const plugin = pod.initContainers.find((c: any) => c.name === 'install-cni-plugin');
    assert.equal(plugin.image, agent.image, 'the flannel-ts image, as the agent');
    assert.deepEqual(plugin.command, ['sh', '-c']);
    const copy = /^cp -f (\S+) (\S+) && mv -f (\S+) (\S+)$/.exec(plugin.args.join(' '));
    assert.ok(copy, `copy to a temporary name, then rename: ${plugin.args}`);
    const [, src, tmp, renamed, dst] = copy as unknown as [string, string, string, string, string];
    assert.equal(src, shipped.get('flannel')?.to, 'the flannel executable the Dockerfile installs');
    assert.equal(renamed, tmp);
    assert.equal(dirname(tmp), dirname(dst), 'the rename stays on one file system');
    assert.equal(dst, '/opt/cni/bin/flannel');
    assert.equal(resolveMount(plugin, dst)?.volume?.hostPath?.path, '/opt/cni/bin');
    const cni = pod.initContainers.find((c: any) => c.name === 'install-cni');
    assert.equal(cni.image, agent.image);
    const [from2, to] = (cni.args as string[]).slice(-2) as [string, string];
    const from = resolveMount(cni, from2);
    assert.ok(from?.volume?.configMap && one('ConfigMap').data[from.rest], `${from2} is in the ConfigMap`);
    assert.equal(resolveMount(cni, to)?.volume?.hostPath?.path, '/etc/cni/net.d');
    assert.match(to, /\.conflist$/);
  });

  it('uses one image, the flannel-ts one: no Go flannel image anywhere', () => {
    const containers = [...pod.initContainers, ...pod.containers];
    assert.deepEqual(new Set(containers.map((c: any) => c.image)), new Set(['IMAGE']));
    assert.doesNotMatch(read('deploy/kube-flannel-ts.yml'), /flannel-io\/|flannel-cni-plugin|rancher\/mirrored-flannel/);
  });

  it('requests the memory the README states, under a limit with room for a re-list; no CPU limit', () => {
    const { requests, limits } = agent.resources;
    const request = memoryMiB(requests.memory);
    const limit = memoryMiB(limits.memory);
    assert.ok(request <= limit && limit >= 2 * request, `request ${request} Mi, limit ${limit} Mi`);
    assert.equal(limits.cpu, undefined);
    const stated = /manifest requests (\d+) MiB/.exec(read('README.md').replace(/\s+/g, ' '));
    assert.equal(Number(stated?.[1]), request, 'README: "The manifest requests <n> MiB"');
  });

  it('runs on every node: host network, privileged, tolerating taints, node-critical', () => {
    assert.equal(pod.hostNetwork, true);
    assert.equal(agent.securityContext.privileged, true);
    assert.deepEqual(pod.tolerations, [{ operator: 'Exists', effect: 'NoSchedule' }]);
    assert.equal(pod.priorityClassName, 'system-node-critical');
    assert.deepEqual(ds.spec.selector.matchLabels, { app: ds.spec.template.metadata.labels.app });
  });
});

describe('deploy/Dockerfile', () => {
  it('builds the executables in a Node 24 build stage: npm ci, npm run build, npm run package', () => {
    assert.ok(buildStage, 'a stage named build');
    assert.match(buildStage.from, /^node:24[-.]/);
    const runs = buildStage.steps.filter(([k]) => k === 'RUN').map(([, r]) => r);
    const at = (cmd: RegExp) => runs.findIndex((r) => cmd.test(r));
    assert.ok(at(/^npm ci\b/) >= 0, 'npm ci');
    assert.ok(at(/^npm run build$/) > at(/^npm ci\b/), 'npm run build after npm ci');
    assert.ok(at(/^npm run package$/) > at(/^npm run build$/), 'npm run package after the build');
  });

  it('ships the three executables (flanneld, the CNI plugin, flannelctl) on Debian with iptables and nftables, and no Node.js', () => {
    assert.match(finalStage.from, /^debian:[\w.-]*slim$/);
    const installs = finalStage.steps
      .filter(([k, r]) => k === 'RUN' && /apt-get install/.test(r))
      .flatMap(([, r]) => r.split('&&').filter((c) => /apt-get install/.test(c)))
      .flatMap((c) => c.trim().split(/\s+/).slice(2).filter((w) => !w.startsWith('-')));
    assert.deepEqual(installs.sort(), ['iptables', 'nftables']);
    assert.deepEqual([...shipped.keys()].sort(), ['flannel', 'flannelctl', 'flanneld']);
    const workdir = workdirOf(buildStage);
    for (const [name, { from, to }] of shipped) {
      assert.equal(from, `${workdir}/dist/package/${name}`, 'what npm run package wrote');
      assert.equal(to, `/opt/flannel-ts/${name}`);
    }
    const text = read('deploy/Dockerfile');
    const finalText = text.slice(text.lastIndexOf('\nFROM '));
    assert.doesNotMatch(finalText, /node_modules|dist\/src|\bnodejs\b|\bnpm\b/, 'nothing of Node.js in the image');
    for (const exe of ['flanneld', 'flannelctl']) {
      assert.ok(finalStage.steps.some(([k, r]) => k === 'RUN' && r.includes(`${shipped.get(exe)?.to} -version`)), `the build runs ${exe} once`);
    }
  });

  it("runs flanneld as the entrypoint, where the manifest's command expects it", () => {
    assert.deepEqual(entrypoint, [shipped.get('flanneld')?.to]);
    assert.deepEqual(agent.command, entrypoint);
  });

  it('keeps local builds and dependencies out of the build context', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim());
    for (const p of ['node_modules/', 'dist/']) assert.ok(ignored.includes(p), p);
    assert.ok(!ignored.some((p) => /^\.git\/?$/.test(p)), '.git stays: the version names the commit');
  });
});

describe('deploy/flanneld.service', () => {
  const unit = read('deploy/flanneld.service');
  it('starts the flanneld executable in etcd mode with flags and FLANNELD_* settings it accepts', () => {
    const exec = /^ExecStart=(\S+)(.*)$/m.exec(unit);
    assert.ok(exec);
    assert.equal(exec[1], shipped.get('flanneld')?.to, 'the executable, where the image has it too');
    assert.match(unit, /^EnvironmentFile=-\/etc\/default\/flanneld$/m);
    const settings = Object.fromEntries(
      read('deploy/flanneld.env')
        .split('\n')
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    for (const k of Object.keys(settings)) {
      const flag = k.slice('FLANNELD_'.length).toLowerCase().replace(/_/g, '-');
      assert.ok(FLANNELD_FLAGS.some((f) => f.name === flag), `${k} names no flag`);
    }
    const o = agentOptions((exec[2] ?? '').trim().split(/\s+/), settings);
    assert.equal(o.kubeSubnetMgr, false);
    assert.equal(o.subnetFile, '/run/flannel/subnet.env');
    assert.deepEqual(o.etcdEndpoints, ['https://10.0.0.2:2379']);
  });
});

describe('Prometheus scraping and deploy/grafana-dashboard.json', () => {
  it("annotates the agent's pods for scraping, on the health port flanneld serves /metrics on", () => {
    const a = ds.spec.template.metadata.annotations ?? {};
    const o = agentOptions(agent.args);
    assert.ok(o.healthzPort > 0, 'flanneld runs with -healthz-port');
    assert.notEqual(o.healthzIp, '127.0.0.1', 'reachable from Prometheus, not only loopback');
    assert.deepEqual(a, { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(o.healthzPort), 'prometheus.io/path': '/metrics' });
  });

  it('queries only metrics flanneld exports, and charts every one of them', async () => {
    const { createPromMetrics } = await import('../../../src/metrics/prom-metrics.js');
    const text = await createPromMetrics({ version: 't', nodeVersion: 'v0' }).render();
    const types = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1] as string, m[2] as string]));
    assert.ok(types.size >= 16, 'the registry lists its metrics');
    const exported = new Set<string>();
    for (const [name, type] of types) {
      exported.add(name);
      if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exported.add(name + s);
    }
    const dash = JSON.parse(read('deploy/grafana-dashboard.json')) as any;
    const exprs: string[] = [];
    const walk = (panels: any[]) => {
      for (const p of panels ?? []) {
        for (const t of p.targets ?? []) exprs.push(String(t.expr));
        walk(p.panels);
      }
    };
    walk(dash.panels);
    assert.ok(exprs.length > 10, 'the dashboard has queries');
    const used = new Set(exprs.flatMap((e) => [...e.matchAll(/\bflannel_[a-z0-9_]+/g)].map((m) => m[0])));
    for (const name of used) assert.ok(exported.has(name), `the dashboard queries ${name}, which flanneld does not export`);
    for (const name of types.keys()) {
      assert.ok([...used].some((u) => u === name || u.startsWith(`${name}_`)), `${name} is on no panel`);
    }
    assert.equal(dash.uid, 'flannel-ts');
    const vars = new Set((dash.templating?.list ?? []).map((v: any) => v.name));
    assert.ok(vars.has('datasource') && vars.has('instance'), 'data source and host variables');
    for (const e of exprs) assert.match(e, /instance=~"\$instance"/, `every query follows the host selection: ${e}`);
  });
});
