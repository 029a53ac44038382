import type { EC2Client, Route } from '@aws-sdk/client-ec2';
import type { IPNetwork } from '../../ip/ip-network.js';
import type { CloudRoute, CloudRouteTable } from '../cloud/route-table.js';
import { toAwsError } from './aws-errors.js';

/** The commands of @aws-sdk/client-ec2 the table uses (passed in: the SDK is loaded by the provider only). */
export interface Ec2Commands {
  readonly DescribeRouteTablesCommand: typeof import('@aws-sdk/client-ec2').DescribeRouteTablesCommand;
  readonly CreateRouteCommand: typeof import('@aws-sdk/client-ec2').CreateRouteCommand;
  readonly ReplaceRouteCommand: typeof import('@aws-sdk/client-ec2').ReplaceRouteCommand;
  readonly DeleteRouteCommand: typeof import('@aws-sdk/client-ec2').DeleteRouteCommand;
}

/** This instance as a route target: flannel routed to the ENI that holds the external interface's address. */
export interface Ec2Self {
  readonly instanceId: string;
  readonly eni: string;
}

/** A route's target as EC2 reports it (the first target field set). */
function targetOf(r: Route): string {
  return (
    r.NetworkInterfaceId ??
    r.InstanceId ??
    r.GatewayId ??
    r.NatGatewayId ??
    r.TransitGatewayId ??
    r.VpcPeeringConnectionId ??
    r.LocalGatewayId ??
    r.CarrierGatewayId ??
    r.EgressOnlyInternetGatewayId ??
    r.CoreNetworkArn ??
    'unknown'
  );
}

/** One VPC route table, through DescribeRouteTables, CreateRoute/ReplaceRoute and DeleteRoute. */
export class Ec2RouteTable implements CloudRouteTable {
  constructor(
    readonly name: string,
    private readonly client: EC2Client,
    private readonly cmd: Ec2Commands,
    private readonly self: Ec2Self,
  ) {}

  async list(signal: AbortSignal): Promise<CloudRoute[]> {
    let out;
    try {
      out = await this.client.send(new this.cmd.DescribeRouteTablesCommand({ RouteTableIds: [this.name] }), { abortSignal: signal });
    } catch (err) {
      throw toAwsError('DescribeRouteTables', err, this.name);
    }
    const table = out.RouteTables?.find((t) => t.RouteTableId === this.name);
    if (!table) throw toAwsError('DescribeRouteTables', Object.assign(new Error(`route table ${this.name} not in the answer`), { name: 'InvalidRouteTableID.NotFound' }), this.name);
    const routes: CloudRoute[] = [];
    for (const r of table.Routes ?? []) {
      // IPv6 and prefix-list destinations are never the cluster's (IPv4 only).
      if (!r.DestinationCidrBlock) continue;
      const targetsThisInstance = r.NetworkInterfaceId !== undefined ? r.NetworkInterfaceId === this.self.eni : r.InstanceId === this.self.instanceId;
      const target = r.State === 'blackhole' ? `${targetOf(r)} (blackhole)` : targetOf(r);
      routes.push({ destination: r.DestinationCidrBlock, target, targetsThisInstance: targetsThisInstance && r.State !== 'blackhole' });
    }
    return routes;
  }

  /** CreateRoute to this instance's ENI; ReplaceRoute when the destination exists (RouteAlreadyExists). */
  async put(destination: IPNetwork, signal: AbortSignal): Promise<void> {
    const input = { RouteTableId: this.name, DestinationCidrBlock: destination.toString(), NetworkInterfaceId: this.self.eni };
    try {
      await this.client.send(new this.cmd.CreateRouteCommand(input), { abortSignal: signal });
      return;
    } catch (err) {
      if ((err as { name?: string }).name !== 'RouteAlreadyExists') throw toAwsError('CreateRoute', err, this.name);
    }
    try {
      await this.client.send(new this.cmd.ReplaceRouteCommand(input), { abortSignal: signal });
    } catch (err) {
      throw toAwsError('ReplaceRoute', err, this.name);
    }
  }

  /** DeleteRoute; one that is gone already (InvalidRoute.NotFound) is no error. */
  async remove(route: CloudRoute, signal: AbortSignal): Promise<void> {
    try {
      await this.client.send(new this.cmd.DeleteRouteCommand({ RouteTableId: this.name, DestinationCidrBlock: route.destination }), { abortSignal: signal });
    } catch (err) {
      if ((err as { name?: string }).name === 'InvalidRoute.NotFound') return;
      throw toAwsError('DeleteRoute', err, this.name);
    }
  }
}
