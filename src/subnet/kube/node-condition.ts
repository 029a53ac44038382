/**
 * The NodeNetworkUnavailable condition flannel sets once the network is up (CompleteLease in
 * pkg/subnet/kube/kube.go; https://kubernetes.io/docs/reference/node/node-status/#condition).
 */

/** metav1.Time as Go marshals it: RFC 3339, whole seconds, UTC. */
export function kubeTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The strategic merge patch of nodes/{name}/status flannel sends: conditions merge by `type`,
 * so only NetworkUnavailable is replaced. Fields in Go's NodeCondition order.
 */
export function networkUnavailableFalsePatch(now: Date): object {
  const t = kubeTime(now);
  return {
    status: {
      conditions: [
        {
          type: 'NetworkUnavailable',
          status: 'False',
          lastHeartbeatTime: t,
          lastTransitionTime: t,
          reason: 'FlannelIsUp',
          message: 'Flannel is running on this node',
        },
      ],
    },
  };
}
