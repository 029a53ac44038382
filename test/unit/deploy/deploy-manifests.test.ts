/**
 * deploy/: the Kubernetes manifest, the Dockerfile and the systemd unit agree with the agent:
 * they parse, every flag they pass is one flanneld accepts, the paths they mount are the ones
 * flanneld and the CNI plugin use, and the RBAC rules grant exactly the API calls the agent makes.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
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
    assert.deepEqual(agent.command, ['/opt/flannel-ts/bin/flanneld']);
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

  it('installs the CNI plugin binary and its config on the host', () => {
    const plugin = pod.initContainers.find((c: any) => c.name === 'install-cni-plugin');
    assert.deepEqual([...plugin.command, ...plugin.args].slice(-1), ['/opt/cni/bin/flannel']);
    assert.equal(resolveMount(plugin, '/opt/cni/bin/flannel')?.volume?.hostPath?.path, '/opt/cni/bin');
    const cni = pod.initContainers.find((c: any) => c.name === 'install-cni');
    const [src, dst] = (cni.args as string[]).slice(-2) as [string, string];
    const from = resolveMount(cni, src);
    assert.ok(from?.volume?.configMap && one('ConfigMap').data[from.rest], `${src} is in the ConfigMap`);
    assert.equal(resolveMount(cni, dst)?.volume?.hostPath?.path, '/etc/cni/net.d');
    assert.match(dst, /\.conflist$/);
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
  const text = read('deploy/Dockerfile');
  it('builds on node:20-bookworm-slim, installs production dependencies only, ships dist and bin', () => {
    const froms = [...text.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
    assert.ok(froms.length > 0 && froms.every((f) => f === 'node:20-bookworm-slim'), froms.join(', '));
    assert.match(text, /^RUN npm ci --omit=dev/m);
    assert.match(text, /^COPY --from=build \/src\/dist\/src \.\/dist\/src$/m);
    assert.match(text, /^COPY bin \.\/bin$/m);
    assert.match(text, /^RUN npm run build$/m);
    assert.match(text, /^COPY --from=build \/src\/dist\/bundle \.\/dist\/bundle$/m);
    assert.ok(existsSync(`${ROOT}bin/flanneld`));
  });

  it("installs flanneld where the manifest's command expects it", () => {
    const workdir = [...text.matchAll(/^WORKDIR\s+(\S+)/gm)].at(-1)?.[1];
    assert.equal(`${workdir}/bin/flanneld`, agent.command[0]);
    assert.match(text, new RegExp(`^ENTRYPOINT \\["${agent.command[0]}"\\]`, 'm'));
  });
});

describe('deploy/flanneld.service', () => {
  const unit = read('deploy/flanneld.service');
  it('starts flanneld in etcd mode with flags and FLANNELD_* settings it accepts', () => {
    const exec = /^ExecStart=(\S+)(.*)$/m.exec(unit);
    assert.ok(exec);
    assert.equal(exec[1], '/opt/flannel-ts/bin/flanneld');
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
