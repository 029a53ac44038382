/**
 * CHECK: verifies what matters for the pod itself rather than passing CHECK to the delegate
 * (Debian's bridge 1.1.1 fails healthy flannel pods: it compares the gateway-less routes of its
 * result with the kernel's routes through the gateway). Checked, in order:
 *  - the container is known (ADD saved its delegate config under dataDir);
 *  - inside CNI_NETNS: CNI_IFNAME exists and is up (with the result's MAC), carries every
 *    address prevResult gives it, and every route of prevResult is in the main table;
 *  - the addresses still lie in this node's subnet (when subnet.env can be read: a node whose
 *    lease changed cannot route to its old pods);
 *  - the IPAM plugin's own CHECK (host-local: the address is still reserved for the container).
 */
import { CniError, KernelError } from '../errors.js';
import type { IPNetwork } from '../ip/ip-network.js';
import { readNetnsSnapshot } from '../kernel/netns-snapshot.js';
import { parseCniResult } from './cni-result.js';
import { CniCode } from './cni-spec.js';
import { runDelegate } from './delegate-invoke.js';
import { decodeJsonObject, isObject } from './net-conf.js';
import { podProblems } from './pod-check.js';
import { readState } from './state-store.js';
import { loadSubnetFacts } from './subnet-facts.js';
import type { VerbContext } from './verb-context.js';

export async function cmdCheck(ctx: VerbContext): Promise<undefined> {
  const { conf, env } = ctx;
  if (!conf.prevResult) throw new CniError(CniCode.INVALID_NETWORK_CONFIG, 'invalid network config: CHECK needs prevResult, the result of the previous ADD');
  const result = parseCniResult(conf.prevResult);
  const saved = await readState(conf.dataDir, env.containerId);
  if (saved === undefined) {
    throw new CniError(CniCode.UNKNOWN_CONTAINER, `container ${env.containerId} is unknown: no delegate config saved for it in ${conf.dataDir}`);
  }

  const subnets: IPNetwork[] = [];
  try {
    const facts = await loadSubnetFacts(conf.subnetFile);
    for (const n of [facts.subnet, facts.ipv6Subnet]) if (n) subnets.push(n);
  } catch (err) {
    // flanneld restarting is no fault of the pod's; the other checks still run.
    ctx.log(`CHECK ${env.containerId}: not comparing with this node's subnet: ${(err as Error).message}`);
  }

  let snap;
  try {
    snap = await readNetnsSnapshot(env.netns, { signal: ctx.signal });
  } catch (err) {
    if (!(err instanceof KernelError)) throw err;
    throw new CniError(CniCode.CHECK_FAILED, `CHECK ${env.containerId}: cannot read the pod's network namespace ${env.netns}`, { details: err.message, cause: err });
  }
  const problems = podProblems({ result, ifName: env.ifName, netns: env.netns, subnets }, snap);
  if (problems.length > 0) {
    throw new CniError(CniCode.CHECK_FAILED, `CHECK ${env.containerId}: ${problems.join('; ')}`);
  }

  const delegate = decodeJsonObject(saved, `saved delegate config of ${env.containerId}`);
  const ipam = delegate.ipam;
  if (isObject(ipam) && typeof ipam.type === 'string') {
    const stdin = JSON.stringify({ ...delegate, cniVersion: conf.cniVersion, prevResult: conf.prevResult });
    await runDelegate({ type: ipam.type, command: 'CHECK', stdin, env: ctx.processEnv, cniPath: env.path, signal: ctx.signal, stderr: ctx.stderr });
  }
  return undefined;
}
