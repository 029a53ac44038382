import type { BackendContext } from '../backend.js';
import { CloudApiError } from '../cloud/cloud-errors.js';
import type { CloudProvider } from '../cloud/route-table.js';
import type { AwsVpcConfig } from './awsvpc-config.js';
import { toAwsError } from './aws-errors.js';
import { Imds } from './aws-imds.js';
import { Ec2RouteTable } from './aws-route-table.js';

/** What IMDS tells about this instance and the ENI holding the external interface's address. */
export interface AwsInstance {
  readonly instanceId: string;
  readonly region: string;
  readonly mac: string;
  readonly eni: string;
  readonly subnetId: string;
  readonly vpcId: string;
}

/**
 * Finds this instance in the metadata service: its ID and region (as flannel), and the ENI
 * whose private addresses hold the external interface's address (flannel asked DescribeInstances
 * for it; the metadata service's network/interfaces/macs/ tells the same without a permission).
 */
export async function discoverInstance(imds: Imds, ifaceAddr: string): Promise<AwsInstance> {
  const instanceId = await imds.get('instance-id');
  const region = await imds.get('placement/region');
  const macs = (await imds.get('network/interfaces/macs/'))
    .split('\n')
    .map((l) => l.trim().replace(/\/$/, ''))
    .filter((l) => l !== '');
  for (const mac of macs) {
    const addrs = (await imds.get(`network/interfaces/macs/${mac}/local-ipv4s`)).split('\n').map((a) => a.trim());
    if (!addrs.includes(ifaceAddr)) continue;
    const [eni, subnetId, vpcId] = [
      await imds.get(`network/interfaces/macs/${mac}/interface-id`),
      await imds.get(`network/interfaces/macs/${mac}/subnet-id`),
      await imds.get(`network/interfaces/macs/${mac}/vpc-id`),
    ];
    return { instanceId, region, mac, eni, subnetId, vpcId };
  }
  throw new CloudApiError('aws-vpc', 'finding the ENI', `no network interface of ${instanceId} has the external interface's address ${ifaceAddr} (MACs: ${macs.join(', ') || 'none'})`, { retryable: false });
}

/**
 * Connects aws-vpc: loads @aws-sdk/client-ec2 (only now: a host of another backend never loads
 * it), discovers the instance through IMDSv2, turns off the ENI's source/destination check (as
 * flannel; a failure is a warning), and resolves the route table(s): RouteTableID, else the table
 * associated with the instance's subnet, else the VPC's main table (flannel's detectRouteTableID).
 * Endpoints and credentials are the SDK's: AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL, the default
 * credential chain. Retries are the shared loop's (the client makes one attempt per call).
 */
export async function connectAws(ctx: BackendContext, cfg: AwsVpcConfig, signal: AbortSignal): Promise<CloudProvider> {
  const ifaceAddr = ctx.extIface.ifaceAddr;
  if (!ifaceAddr) throw new CloudApiError('aws-vpc', 'finding the ENI', `interface ${ctx.extIface.name} has no IPv4 address`, { retryable: false });
  const imds = await Imds.open();
  const inst = await discoverInstance(imds, ifaceAddr.toString());
  signal.throwIfAborted();
  const sdk = await import('@aws-sdk/client-ec2');
  const client = new sdk.EC2Client({ region: inst.region, maxAttempts: 1, requestHandler: { requestTimeout: 10_000, connectionTimeout: 5_000 } });
  const send = async <T>(op: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      throw toAwsError(op, err);
    }
  };
  try {
    await send('ModifyNetworkInterfaceAttribute', () =>
      client.send(new sdk.ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: inst.eni, SourceDestCheck: { Value: false } }), { abortSignal: signal }),
    );
    ctx.logger.info(`source/destination check off on ${inst.eni}`);
  } catch (err) {
    if (signal.aborted) throw err;
    ctx.logger.warn(`failed to disable SourceDestCheck on ${inst.eni}: ${(err as Error).message}`);
  }
  let ids = cfg.routeTableIds;
  if (!ids) {
    const bySubnet = await send('DescribeRouteTables', () =>
      client.send(new sdk.DescribeRouteTablesCommand({ Filters: [{ Name: 'association.subnet-id', Values: [inst.subnetId] }] }), { abortSignal: signal }),
    );
    let found = bySubnet.RouteTables?.[0]?.RouteTableId;
    if (!found) {
      const main = await send('DescribeRouteTables', () =>
        client.send(new sdk.DescribeRouteTablesCommand({ Filters: [{ Name: 'association.main', Values: ['true'] }, { Name: 'vpc-id', Values: [inst.vpcId] }] }), { abortSignal: signal }),
      );
      found = main.RouteTables?.[0]?.RouteTableId;
      if (!found) throw new CloudApiError('aws-vpc', 'DescribeRouteTables', `no route table for subnet ${inst.subnetId} and no main route table in ${inst.vpcId}; set Backend.RouteTableID`, { retryable: false });
      ctx.logger.info(`subnet ${inst.subnetId} has no route table of its own; using the main table ${found} of ${inst.vpcId}`);
    } else {
      ctx.logger.info(`found route table ${found} of subnet ${inst.subnetId}`);
    }
    ids = [found];
  }
  const cmds = { DescribeRouteTablesCommand: sdk.DescribeRouteTablesCommand, CreateRouteCommand: sdk.CreateRouteCommand, ReplaceRouteCommand: sdk.ReplaceRouteCommand, DeleteRouteCommand: sdk.DeleteRouteCommand };
  const self = { instanceId: inst.instanceId, eni: inst.eni };
  return {
    type: 'aws-vpc',
    instance: `${inst.instanceId} (${inst.eni}) in ${inst.region}`,
    tables: ids.map((id) => new Ec2RouteTable(id, client, cmds, self)),
  };
}
