/**
 * The network config as flanneld would use it: the document validated exactly as flanneld does
 * (src/config/network-config.ts, then the backend's own field parser), rendered back as JSON with
 * every default filled in. Errors are flanneld's own ConfigErrors, so their text is the same.
 */
import { parseNetworkConfig, type NetworkConfig } from '../config/network-config.js';
import { knownBackendTypes } from '../backend/registry.js';

/** Validates `text` as flanneld does in this mode; throws flanneld's ConfigError. */
export async function effectiveConfig(text: string, mode: 'etcd' | 'kube'): Promise<{ config: NetworkConfig; document: Record<string, unknown>; backendChecked: boolean }> {
  // etcd mode computes and checks the subnet ranges; kube mode takes subnets from podCIDRs.
  const config = parseNetworkConfig(text, { knownBackends: knownBackendTypes(), checkSubnetRanges: mode === 'etcd' });
  const backend = await backendFields(config);
  const doc: Record<string, unknown> = {};
  if (config.network) doc['Network'] = config.network.toString();
  if (config.enableIPv4 && mode === 'etcd') {
    doc['SubnetLen'] = config.subnetLen;
    doc['SubnetMin'] = config.subnetMin?.toString();
    doc['SubnetMax'] = config.subnetMax?.toString();
  }
  doc['EnableIPv4'] = config.enableIPv4;
  doc['EnableIPv6'] = config.enableIPv6;
  if (config.ipv6Network) doc['IPv6Network'] = config.ipv6Network.toString();
  if (config.enableIPv6 && mode === 'etcd') {
    doc['IPv6SubnetLen'] = config.ipv6SubnetLen;
    doc['IPv6SubnetMin'] = config.ipv6SubnetMin?.toString();
    doc['IPv6SubnetMax'] = config.ipv6SubnetMax?.toString();
  }
  doc['EnableNFTables'] = config.enableNFTables;
  doc['Backend'] = backend.fields;
  return { config, document: doc, backendChecked: backend.checked };
}

/**
 * The Backend object with the backend's defaults filled in, checked by the backend's own parser
 * (the same one flanneld runs). Secrets (PSK) are never echoed. Backends flannelctl has no
 * parser for (the cloud ones) come back as given, with `checked` false.
 */
async function backendFields(config: NetworkConfig): Promise<{ fields: Record<string, unknown>; checked: boolean }> {
  const raw = config.backend;
  const type = config.backendType;
  const secret = (v: unknown) => (v === undefined || v === null || v === '' ? undefined : '(set, not shown)');
  switch (type) {
    case 'vxlan': {
      const c = (await import('../backend/vxlan/vxlan-config.js')).parseVxlanConfig(raw);
      return { fields: { Type: type, VNI: c.vni, Port: c.port, GBP: c.gbp, Learning: c.learning, DirectRouting: c.directRouting, MTU: c.mtu, MacPrefix: c.macPrefix }, checked: true };
    }
    case 'wireguard': {
      const c = (await import('../backend/wireguard/wireguard-config.js')).parseWireguardConfig(raw);
      const fields: Record<string, unknown> = { Type: type, ListenPort: c.listenPort, ListenPortV6: c.listenPortV6, MTU: c.mtu, PersistentKeepaliveInterval: c.persistentKeepalive, Mode: c.mode };
      if (c.psk) fields['PSK'] = secret(raw['PSK']);
      return { fields, checked: true };
    }
    case 'ipip': {
      const c = (await import('../backend/ipip/ipip-config.js')).parseIpipConfig(config);
      return { fields: { Type: type, DirectRouting: c.directRouting }, checked: true };
    }
    case 'udp': {
      const c = (await import('../backend/udp/udp-config.js')).parseUdpConfig(config);
      return { fields: { Type: type, Port: c.port }, checked: true };
    }
    case 'ipsec': {
      const c = (await import('../backend/ipsec/ipsec-config.js')).parseIpsecConfig(raw);
      return { fields: { Type: type, PSK: secret(c.psk), UDPEncap: c.udpEncap, ESPProposal: c.espProposal }, checked: true };
    }
    case 'extension': {
      const c = (await import('../backend/extension/extension-config.js')).parseExtensionConfig(raw);
      return { fields: { Type: type, ...c }, checked: true };
    }
    case 'host-gw':
    case 'alloc':
      return { fields: { Type: type }, checked: true };
    default:
      return { fields: { ...raw }, checked: false };
  }
}
