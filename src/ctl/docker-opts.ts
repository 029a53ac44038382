/**
 * flannel's dist/mk-docker-opts.sh as pure functions: Docker daemon options from subnet.env, in
 * the script's output format, byte for byte as it writes them under /bin/sh (dash):
 *
 *   DOCKER_OPT_BIP="--bip=10.244.5.1/24"
 *   DOCKER_OPT_IPMASQ="--ip-masq=false"
 *   DOCKER_OPT_MTU="--mtu=1450"
 *   DOCKER_OPTS=" --bip=10.244.5.1/24 --ip-masq=false --mtu=1450"
 *
 * What the script does, and so this: subnet.env is sourced over the environment (a missing file
 * is no error; FLANNEL_* then come from the environment); --bip from FLANNEL_SUBNET, --mtu from
 * FLANNEL_MTU, --ip-masq the inverse of FLANNEL_IPMASQ (true/false, else an error before anything
 * is written; left out with -m); every DOCKER_OPT_* variable (the three, plus any from the
 * environment or the file) in name order, one line each with -i; their values appended to the
 * combined key's (-k, default DOCKER_OPTS) value from the environment, each after a space, in one
 * line with -c; neither -i nor -c means both. IPv6 (FLANNEL_IPV6_SUBNET) is not used, as in flannel.
 */
import { parseEnvText } from '../subnet/subnet-env.js';

export interface DockerOptsFlags {
  /** -i */
  readonly individual: boolean;
  /** -c */
  readonly combined: boolean;
  /** -k */
  readonly combinedKey: string;
  /** false with -m */
  readonly ipMasq: boolean;
}

export class DockerOptsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DockerOptsError';
  }
}

/** The shell variables after `. subnet.env`: the environment, overlaid by the file's assignments. */
export function sourcedVariables(env: Readonly<Record<string, string | undefined>>, fileText: string | undefined): Map<string, string> {
  const vars = new Map<string, string>();
  for (const [k, v] of Object.entries(env)) if (v !== undefined) vars.set(k, v);
  if (fileText !== undefined) for (const [k, v] of parseEnvText(fileText)) vars.set(k, unquote(v));
  return vars;
}

/** The docker_opts.env text; throws DockerOptsError for a FLANNEL_IPMASQ that is neither true nor false. */
export function renderDockerOpts(vars: ReadonlyMap<string, string>, flags: DockerOptsFlags): string {
  const individual = !flags.individual && !flags.combined ? true : flags.individual;
  const combined = !flags.individual && !flags.combined ? true : flags.combined;
  const opts = new Map<string, string>();
  for (const [k, v] of vars) if (k.startsWith('DOCKER_OPT_')) opts.set(k, v);
  const subnet = vars.get('FLANNEL_SUBNET') ?? '';
  if (subnet !== '') opts.set('DOCKER_OPT_BIP', `--bip=${subnet}`);
  const mtu = vars.get('FLANNEL_MTU') ?? '';
  if (mtu !== '') opts.set('DOCKER_OPT_MTU', `--mtu=${mtu}`);
  const masq = vars.get('FLANNEL_IPMASQ') ?? '';
  if (masq !== '' && flags.ipMasq) {
    if (masq === 'true') opts.set('DOCKER_OPT_IPMASQ', '--ip-masq=false');
    else if (masq === 'false') opts.set('DOCKER_OPT_IPMASQ', '--ip-masq=true');
    else throw new DockerOptsError(`Invalid value of FLANNEL_IPMASQ: ${masq}`);
  }
  const existing = vars.get(flags.combinedKey) ?? '';
  let all = existing !== '' ? `${existing} ` : '';
  let out = '';
  for (const name of [...opts.keys()].sort()) {
    const value = opts.get(name) ?? '';
    if (individual) out += `${name}="${value}"\n`;
    all += ` ${value}`;
  }
  if (combined) out += `${flags.combinedKey}="${all}"\n`;
  return out;
}

/** The subnet the script checks the routing table for: FLANNEL_SUBNET's network ("10.244.5.1/24" -> "10.244.5.0/24"). */
export function bridgeSubnet(vars: ReadonlyMap<string, string>): string | undefined {
  const s = vars.get('FLANNEL_SUBNET') ?? '';
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(s);
  if (!m) return undefined;
  return `${m[1]}.${m[2]}.${m[3]}.${Number(m[4]) - 1}/${m[5]}`;
}

/** A sourced value without the quotes a shell would remove ("x" or 'x'). */
function unquote(v: string): string {
  if (v.length >= 2 && ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'")))) return v.slice(1, -1);
  return v;
}

/** The script's usage text (written to stderr, exit 1, for -h or a bad option). */
export function dockerOptsUsage(program: string): string {
  return (
    `${program} [-f FLANNEL-ENV-FILE] [-d DOCKER-ENV-FILE] [-i] [-c] [-m] [-k COMBINED-KEY]\n\n` +
    'Generate Docker daemon options based on flannel env file\n' +
    'OPTIONS:\n' +
    '\t-f\tPath to flannel env file. Defaults to /run/flannel/subnet.env\n' +
    '\t-d\tPath to Docker env file to write to (- for standard output). Defaults to /run/docker_opts.env\n' +
    '\t-i\tOutput each Docker option as individual var. e.g. DOCKER_OPT_MTU=1500\n' +
    '\t-c\tOutput combined Docker options into DOCKER_OPTS var\n' +
    '\t-k\tSet the combined options key to this value (default DOCKER_OPTS=)\n' +
    '\t-m\tDo not output --ip-masq (useful for older Docker version)\n'
  );
}
