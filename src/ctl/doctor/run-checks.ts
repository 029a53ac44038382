/** All of doctor's checks over gathered facts, in the order a person reads them. Pure. */
import { errorMessage } from '../../errors.js';
import { backendModel, type BackendModel } from './backend-model.js';
import type { DoctorFacts } from './doctor-facts.js';
import { buildView } from './doctor-view.js';
import { problem, type Finding } from './finding.js';
import { checkDevices } from './checks/device-check.js';
import { checkPeers } from './checks/peer-check.js';
import { checkPodBridge } from './checks/pod-bridge-check.js';
import { checkPorts } from './checks/port-check.js';
import { checkRules } from './checks/rule-check.js';
import { checkLeaseTable, checkOwnLease, checkStore } from './checks/store-checks.js';
import { checkSubnetEnv } from './checks/subnet-env-check.js';

export interface CheckOptions {
  /** The CNI bridge (default cni0). */
  readonly bridge?: string;
}

export function runChecks(facts: DoctorFacts, opts: CheckOptions = {}): Finding[] {
  const v = buildView(facts);
  const out: Finding[] = [...checkStore(v), ...checkOwnLease(v), ...checkLeaseTable(v), ...checkSubnetEnv(v)];
  let model: BackendModel | undefined;
  if (v.config) {
    try {
      model = backendModel(v.config);
    } catch (err) {
      out.push(problem('store', `backend options: ${errorMessage(err)}`, 'flanneld refuses to start with them', 'fix the network config\'s Backend section (flannelctl config validate)'));
    }
  }
  if (facts.kernelError !== undefined) {
    out.push(problem('kernel', `cannot read the kernel state: ${facts.kernelError}`, 'devices, routes and neighbours were not checked', 'run doctor as root on the host (in the host\'s network namespace)'));
  }
  out.push(...checkDevices(v, model), ...checkPeers(v, model), ...checkRules(v), ...checkPodBridge(v, opts.bridge), ...checkPorts(v, model));
  return out;
}
