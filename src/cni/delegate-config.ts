/**
 * The delegate's network config, built exactly as flannel's plugin builds it (cni-plugin,
 * flannel.go cmdAdd and flannel_linux.go doCmdAdd/getDelegateIPAM):
 *   name        the network's name
 *   type        "bridge" unless delegate.type says otherwise
 *   ipMasq      !FLANNEL_IPMASQ unless the delegate sets it (flanneld masquerades, or the delegate must)
 *   mtu         FLANNEL_MTU unless the delegate sets it
 *   isGateway   true for bridge unless set
 *   cniVersion  the config's, when it has one
 *   runtimeConfig  the config's, when it has one
 *   ipam        the config's `ipam` section, `type` defaulting to host-local, `ranges` one range set
 *               per family from FLANNEL_SUBNET / FLANNEL_IPV6_SUBNET, `routes` the given routes
 *               followed by one `{"dst": network}` per cluster network (IPv4 first)
 * Keys come out sorted at every level, as Go's encoding/json writes maps, so the saved file and
 * the delegate's stdin match Go flannel's byte for byte (up to Go's HTML escaping).
 */
import { CniError } from '../errors.js';
import { IPAddress } from '../ip/ip-address.js';
import { IPNetwork } from '../ip/ip-network.js';
import { CniCode } from './cni-spec.js';
import { isObject, type FlannelNetConf, type JsonObject } from './net-conf.js';
import type { SubnetFacts } from './subnet-facts.js';

export const DEFAULT_DELEGATE_TYPE = 'bridge';
export const DEFAULT_IPAM_TYPE = 'host-local';

const has = (o: JsonObject, k: string) => Object.hasOwn(o, k);

function invalid(msg: string): CniError {
  return new CniError(CniCode.INVALID_NETWORK_CONFIG, `invalid network config: ${msg}`);
}

/** Builds the delegate config for ADD from the plugin's config and subnet.env. */
export function buildDelegateConfig(conf: FlannelNetConf, facts: SubnetFacts): JsonObject {
  const delegate: JsonObject = { ...(conf.delegate ?? {}) };
  if (conf.delegate) {
    if (has(delegate, 'type') && typeof delegate.type !== 'string') throw invalid("'delegate' dictionary, if present, must have (string) 'type' field");
    if (has(delegate, 'name')) throw invalid("'delegate' dictionary must not have 'name' field, it'll be set by flannel");
    if (has(delegate, 'ipam')) throw invalid("'delegate' dictionary must not have 'ipam' field, it'll be set by flannel");
  }
  if (conf.runtimeConfig) delegate.runtimeConfig = conf.runtimeConfig;

  delegate.name = conf.name;
  if (!has(delegate, 'type')) delegate.type = DEFAULT_DELEGATE_TYPE;
  if (!has(delegate, 'ipMasq')) delegate.ipMasq = !facts.ipMasq;
  if (!has(delegate, 'mtu')) delegate.mtu = facts.mtu;
  if (delegate.type === 'bridge' && !has(delegate, 'isGateway')) delegate.isGateway = true;
  if (conf.cniVersion !== '') delegate.cniVersion = conf.cniVersion;
  delegate.ipam = delegateIpam(conf.ipam, facts);
  return sortKeysDeep(delegate) as JsonObject;
}

function delegateIpam(given: JsonObject | undefined, facts: SubnetFacts): JsonObject {
  const ipam: JsonObject = { ...(given ?? {}) };
  if (!has(ipam, 'type')) ipam.type = DEFAULT_IPAM_TYPE;
  const ranges: { subnet: string }[][] = [];
  if (facts.subnet) ranges.push([{ subnet: facts.subnet.toString() }]);
  if (facts.ipv6Subnet) ranges.push([{ subnet: facts.ipv6Subnet.toString() }]);
  ipam.ranges = ranges;
  const routes = givenRoutes(given?.routes);
  for (const nw of [...facts.networks, ...facts.ipv6Networks]) routes.push({ dst: nw.toString() });
  ipam.routes = routes;
  return ipam;
}

/** `ipam.routes` as given, each checked as CNI's Route type decodes it: `dst` a CIDR, `gw` an address. */
function givenRoutes(v: unknown): JsonObject[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalid(`failed to parse ipam.routes: ${JSON.stringify(v).slice(0, 200)} is not a list`);
  return v.map((r: unknown, i) => {
    if (!isObject(r)) throw invalid(`failed to parse ipam.routes[${i}]: not an object`);
    if (typeof r.dst !== 'string' || !isCidr(r.dst)) throw invalid(`failed to parse ipam.routes[${i}].dst=${JSON.stringify(r.dst)}: want a CIDR`);
    if (r.gw !== undefined && r.gw !== null && (typeof r.gw !== 'string' || !IPAddress.tryParse(r.gw))) {
      throw invalid(`failed to parse ipam.routes[${i}].gw=${JSON.stringify(r.gw)}: want an IP address`);
    }
    return { ...r };
  });
}

function isCidr(s: string): boolean {
  try {
    IPNetwork.parse(s);
    return true;
  } catch {
    return false;
  }
}

/** A copy of `v` with the keys of every object sorted (Go's map order). */
export function sortKeysDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeysDeep);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const k of Object.keys(v).sort()) out[k] = sortKeysDeep(v[k]);
  return out;
}
