/**
 * Nodes shaped like the ones a kubelet registers, for scale tests and benchmarks: labels,
 * managedFields, spec.providerID, and a status with capacity, allocatable, five conditions,
 * addresses, daemonEndpoints, nodeInfo and a list of images (the kubelet reports up to 50,
 * --node-status-max-images). About 5 KB of JSON each, so 5,000 of them make a NodeList of
 * ~25 MB, which is what flanneld's one big read has to carry. Field names and shapes follow
 * the Node v1 reference (https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/node-v1/).
 */
import type { NodeSpecInput } from './node-store.js';

const TIME = '2026-11-01T08:00:00Z';

const CONDITIONS = [
  ['MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
  ['DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
  ['PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
  ['Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'],
] as const;

const IMAGES = [
  'registry.k8s.io/kube-proxy:v1.31.2',
  'registry.k8s.io/pause:3.10',
  'ghcr.io/flannel-io/flannel:v0.26.1',
  'docker.io/library/nginx:1.27.2',
  'quay.io/prometheus/node-exporter:v1.8.2',
  'registry.k8s.io/coredns/coredns:v1.11.3',
  'docker.io/grafana/promtail:3.2.1',
  'registry.k8s.io/metrics-server/metrics-server:v0.7.2',
  'docker.io/library/redis:7.4.1',
  'docker.io/library/postgres:17.0',
  'quay.io/jetstack/cert-manager-controller:v1.16.1',
  'docker.io/library/busybox:1.37.0',
];

/** A hex string of `len` characters derived from `seed` (no randomness: the same node each run). */
function hex(seed: number, len: number): string {
  let out = '';
  let x = (seed * 2654435761) >>> 0;
  while (out.length < len) {
    x = (x * 1103515245 + 12345) >>> 0;
    out += x.toString(16).padStart(8, '0');
  }
  return out.slice(0, len);
}

/**
 * Node number i, with this pod CIDR and internal IP, and the given annotations (flannel's, for
 * a peer) next to the ones every kubelet node carries.
 */
export function realisticNode(i: number, o: { name: string; podCIDR: string; internalIP: string; annotations?: Record<string, string> }): NodeSpecInput {
  const manager = (name: string, op: string, sub: string | undefined, fields: object) => ({
    manager: name,
    operation: op,
    apiVersion: 'v1',
    time: TIME,
    fieldsType: 'FieldsV1',
    fieldsV1: fields,
    ...(sub ? { subresource: sub } : {}),
  });
  return {
    name: o.name,
    podCIDR: o.podCIDR,
    labels: {
      'beta.kubernetes.io/arch': 'amd64',
      'beta.kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'kubernetes.io/os': 'linux',
      'node.kubernetes.io/instance-type': 'm5.large',
      'topology.kubernetes.io/region': 'eu-west-1',
      'topology.kubernetes.io/zone': `eu-west-1${'abc'[i % 3]}`,
    },
    annotations: {
      'node.alpha.kubernetes.io/ttl': '0',
      'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      'kubeadm.alpha.kubernetes.io/cri-socket': 'unix:///var/run/containerd/containerd.sock',
      ...o.annotations,
    },
    managedFields: [
      manager('kubelet', 'Update', undefined, { 'f:metadata': { 'f:annotations': { '.': {}, 'f:volumes.kubernetes.io/controller-managed-attach-detach': {} }, 'f:labels': { '.': {}, 'f:beta.kubernetes.io/arch': {}, 'f:beta.kubernetes.io/os': {}, 'f:kubernetes.io/arch': {}, 'f:kubernetes.io/hostname': {}, 'f:kubernetes.io/os': {} } } }),
      manager('kube-controller-manager', 'Update', undefined, { 'f:metadata': { 'f:annotations': { 'f:node.alpha.kubernetes.io/ttl': {} } }, 'f:spec': { 'f:podCIDR': {}, 'f:podCIDRs': { '.': {}, [`v:"${o.podCIDR}"`]: {} } } }),
      manager('flanneld', 'Update', 'status', { 'f:metadata': { 'f:annotations': { 'f:flannel.alpha.coreos.com/backend-data': {}, 'f:flannel.alpha.coreos.com/backend-type': {}, 'f:flannel.alpha.coreos.com/kube-subnet-manager': {}, 'f:flannel.alpha.coreos.com/public-ip': {} } }, 'f:status': { 'f:conditions': { 'k:{"type":"NetworkUnavailable"}': { '.': {}, 'f:lastHeartbeatTime': {}, 'f:lastTransitionTime': {}, 'f:message': {}, 'f:reason': {}, 'f:status': {}, 'f:type': {} } } } }),
      manager('kubelet', 'Update', 'status', { 'f:status': { 'f:allocatable': { 'f:cpu': {}, 'f:memory': {} }, 'f:capacity': { 'f:cpu': {}, 'f:memory': {} }, 'f:conditions': { 'k:{"type":"Ready"}': { 'f:lastHeartbeatTime': {}, 'f:lastTransitionTime': {}, 'f:message': {}, 'f:reason': {}, 'f:status': {} } }, 'f:images': {}, 'f:nodeInfo': { 'f:bootID': {}, 'f:kernelVersion': {} } } }),
    ],
    spec: { providerID: `aws:///eu-west-1a/i-0${hex(i, 16)}` },
    status: {
      capacity: { cpu: '2', 'ephemeral-storage': '83873772Ki', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: '7918536Ki', pods: '110' },
      allocatable: { cpu: '1930m', 'ephemeral-storage': '76224326324', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: '7200712Ki', pods: '110' },
      conditions: [
        { type: 'NetworkUnavailable', status: 'False', lastHeartbeatTime: TIME, lastTransitionTime: TIME, reason: 'FlannelIsUp', message: 'Flannel is running on this node' },
        ...CONDITIONS.map(([type, status, reason, message]) => ({ type, status, lastHeartbeatTime: TIME, lastTransitionTime: TIME, reason, message })),
      ],
      addresses: [
        { type: 'InternalIP', address: o.internalIP },
        { type: 'Hostname', address: o.name },
        { type: 'InternalDNS', address: `ip-${o.internalIP.replaceAll('.', '-')}.eu-west-1.compute.internal` },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: hex(i + 1, 32),
        systemUUID: hex(i + 2, 32),
        bootID: hex(i + 3, 32),
        kernelVersion: '6.1.0-27-cloud-amd64',
        osImage: 'Debian GNU/Linux 12 (bookworm)',
        containerRuntimeVersion: 'containerd://1.7.23',
        kubeletVersion: 'v1.31.2',
        kubeProxyVersion: 'v1.31.2',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
      images: IMAGES.map((name, k) => ({ names: [`${name.split(':')[0]}@sha256:${hex(k * 7919 + 17, 64)}`, name], sizeBytes: 10_000_000 + k * 7_654_321 })),
    },
  };
}
