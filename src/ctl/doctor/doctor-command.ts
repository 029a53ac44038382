/**
 * `flannelctl doctor`: checks this host against the store and the kernel and says what is wrong
 * and how to fix it. Reads only; run it as root on the host (in the host's network namespace,
 * e.g. `kubectl exec` into the flannel-ts pod, which runs with hostNetwork).
 *
 * Exit codes: 0 healthy (no finding failed; warnings may be listed), 1 a problem was found (or a
 * source doctor needs could not be read: that is a failed finding too), 2 bad usage.
 */
import { applyEnvironment, flagString, invalidValueError, type FlagSpec } from '../../cli/flag-parser.js';
import { FLANNELD_ENV_PREFIX } from '../../cli/flanneld-flags.js';
import { IPAddress } from '../../ip/ip-address.js';
import { commandUsage, parseCommandArgs } from '../command-flags.js';
import { EXIT_OK, EXIT_USAGE, type CtlCommand } from '../ctl-context.js';
import { gatherFacts } from './doctor-gather.js';
import { renderDoctorJSON, renderDoctorTable } from './doctor-report.js';
import { exitCodeOf } from './finding.js';
import { CNI_BRIDGE } from './checks/pod-bridge-check.js';
import { runChecks } from './run-checks.js';

const FLAGS: readonly FlagSpec[] = [
  { name: 'public-ip', kind: 'string', default: '', help: "this host's public IP, when flanneld runs with -public-ip (default: any address of this host that a lease names)" },
  { name: 'public-ipv6', kind: 'string', default: '', help: "this host's public IPv6, when flanneld runs with -public-ipv6" },
  { name: 'node-name', kind: 'string', default: '', help: 'kube mode: this node (default: $NODE_NAME, else found by public IP)' },
  { name: 'cni-bridge', kind: 'string', default: CNI_BRIDGE, help: "the pods' bridge of the CNI config" },
];

const SYNOPSIS = ['doctor [-public-ip <ip>] [-node-name <name>] [-cni-bridge <name>] [-o json]'];

function ipFlag(p: ReturnType<typeof parseCommandArgs>, name: string, family: 4 | 6): IPAddress | undefined {
  const text = flagString(p, name);
  if (text === '') return undefined;
  const ip = IPAddress.tryParse(text);
  if (!ip || ip.family !== family) throw invalidValueError(name, p.origins.get(name), text, `not an IPv${family} address`);
  return ip;
}

export const doctorCommand: CtlCommand = async (ctx, args, signal) => {
  const parsed = parseCommandArgs(FLAGS, args);
  if (parsed.help) {
    ctx.stdout(commandUsage('doctor', SYNOPSIS, FLAGS));
    return EXIT_OK;
  }
  if (parsed.args.length > 0) {
    ctx.stderr(`flannelctl doctor: unexpected argument ${JSON.stringify(parsed.args[0])}\n${commandUsage('doctor', SYNOPSIS, FLAGS)}`);
    return EXIT_USAGE;
  }
  const p = applyEnvironment(FLAGS, parsed, ctx.env, FLANNELD_ENV_PREFIX, ['node-name', 'cni-bridge']);
  const publicIP = ipFlag(p, 'public-ip', 4);
  const publicIPv6 = ipFlag(p, 'public-ipv6', 6);
  const nodeName = flagString(p, 'node-name') || (ctx.options.kubeSubnetMgr ? ctx.env['NODE_NAME'] : undefined) || undefined;
  const bridge = flagString(p, 'cni-bridge');
  if (!/^[^\s/]{1,15}$/.test(bridge)) throw invalidValueError('cni-bridge', p.origins.get('cni-bridge'), bridge, 'not an interface name');

  const facts = await gatherFacts({
    store: () => ctx.store(signal),
    kube: ctx.options.kubeSubnetMgr,
    subnetFile: ctx.options.subnetFile,
    host: { publicIP, publicIPv6, nodeName },
    signal,
  });
  const findings = runChecks(facts, { bridge });
  ctx.stdout(ctx.options.output === 'json' ? renderDoctorJSON(findings) : renderDoctorTable(findings));
  return exitCodeOf(findings);
};
