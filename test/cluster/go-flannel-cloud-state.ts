/**
 * What Go flannel's cloud and ipsec backends leave behind, for the migration tests: their lease
 * values byte for byte and the route each host put in its cloud's route table, in the shape the
 * test stand-ins (test/cloud/*-standin.ts) take through their control socket. Read from flannel's
 * source: backend/awsvpc/awsvpc.go and backend/gce/{gce,api}.go (last in v0.19.2),
 * backend/tencentvpc/tencentvpc.go and backend/ipsec/ipsec.go (v0.20.2).
 */
import type { IPNetwork } from '../../src/ip/ip-network.js';

/**
 * The lease of aws-vpc, gce and tencent-vpc: `LeaseAttrs{PublicIP}` only, so no BackendType and
 * no BackendData (`omitempty`), and `PublicIPv6` (a pointer, no omitempty) as null, as v0.15..v0.20
 * marshal it.
 */
export function goCloudLeaseValue(publicIP: string): string {
  return `{"PublicIP":"${publicIP}","PublicIPv6":null}`;
}

/** The same lease as flannel up to v0.14 wrote it (its LeaseAttrs had no PublicIPv6 yet). */
export function goCloudLeaseValueV014(publicIP: string): string {
  return `{"PublicIP":"${publicIP}"}`;
}

/** The ipsec lease: `LeaseAttrs{PublicIP, BackendType: "ipsec"}`, no BackendData. */
export function goIpsecLeaseValue(publicIP: string): string {
  return `{"PublicIP":"${publicIP}","PublicIPv6":null,"BackendType":"ipsec"}`;
}

/**
 * aws-vpc's route: `CreateRoute{RouteTableId, DestinationCidrBlock: <subnet>, NetworkInterfaceId:
 * <the ENI holding the public IP>}` in the table of the instance's subnet (or the main table), as
 * ec2-standin's `POST /routes/add` takes it.
 */
export function goAwsRoute(table: string, subnet: IPNetwork, eni: string): { table: string; destination: string; target: string } {
  return { table, destination: subnet.toString(), target: eni };
}

/** gce's route name: `flannel-` and the subnet with `.` and `/` replaced by `-` (formatRouteName). */
export function goGceRouteName(subnet: IPNetwork): string {
  return `flannel-${subnet.toString().replace(/[./]/g, '-')}`;
}

/**
 * gce's route: `compute.Route{Name, DestRange: <subnet>, Network: <network selfLink>,
 * NextHopInstance: <instance selfLink>, Priority: 1000, Tags: []}`, as gce-standin's
 * `POST /routes/add` takes it.
 */
export function goGceRoute(
  subnet: IPNetwork,
  networkLink: string,
  instanceLink: string,
): { name: string; destRange: string; network: string; nextHopInstance: string; priority: number } {
  return { name: goGceRouteName(subnet), destRange: subnet.toString(), network: networkLink, nextHopInstance: instanceLink, priority: 1000 };
}

/**
 * tencent-vpc's route in the VPC's first route table: `Route{DestinationCidrBlock: <subnet>,
 * GatewayType: "NORMAL_CVM", GatewayId: <the public IP>, Enabled: true}` (RouteType USER), as
 * tencent-standin's `POST /routes/add` takes it.
 */
export function goTencentRoute(subnet: IPNetwork, publicIP: string): { DestinationCidrBlock: string; GatewayType: string; GatewayId: string; Enabled: boolean } {
  return { DestinationCidrBlock: subnet.toString(), GatewayType: 'NORMAL_CVM', GatewayId: publicIP, Enabled: true };
}
