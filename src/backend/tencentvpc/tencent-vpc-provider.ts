import type { IPAddress } from '../../ip/ip-address.js';
import type { Logger } from '../../log/logger.js';
import type { CloudProvider } from '../cloud/route-table.js';
import { TENCENT_VPC, tencentTableMissing } from './tencent-api-error.js';
import { discoverInstance } from './tencent-metadata.js';
import { TencentRouteTable } from './tencent-route-table.js';
import { createTencentVpcClient, type TencentVpcApi } from './tencent-vpc-client.js';
import type { TencentVpcConfig } from './tencent-vpc-config.js';

export interface TencentConnectOptions {
  readonly config: TencentVpcConfig;
  /** This instance's private IP: the routes' GatewayId (flannel: the external interface's address). */
  readonly gatewayIp: IPAddress;
  readonly logger: Logger;
  /** For tests: the API client (default: the SDK's CommonClient). */
  readonly makeApi?: (region: string) => Promise<TencentVpcApi>;
}

/**
 * Discovers this CVM as flannel does: region and VPC from the metadata service, then the VPC's
 * route tables (DescribeRouteTables filtered by vpc-id), of which the first is written into.
 */
export async function connectTencentVpc(opts: TencentConnectOptions, signal: AbortSignal): Promise<CloudProvider> {
  const { config } = opts;
  const facts = await discoverInstance({ baseUrl: config.metadataUrl }, signal);
  opts.logger.info(
    `tencent-vpc: region ${facts.region}, VPC ${facts.vpcId} (metadata ${config.metadataUrl}); API ${config.api.protocol}${config.api.endpoint}` +
      `${config.api.connectAddress ? ` at ${config.api.connectAddress}` : ''}, key ${config.accessKeyId} from ${config.credentialSource}`,
  );
  const api = opts.makeApi
    ? await opts.makeApi(facts.region)
    : await createTencentVpcClient({ accessKeyId: config.accessKeyId, accessKeySecret: config.accessKeySecret, region: facts.region, api: config.api });
  const res = await api.call('DescribeRouteTables', { Filters: [{ Name: 'vpc-id', Values: [facts.vpcId] }] }, signal);
  const set = res['RouteTableSet'];
  const first = Array.isArray(set) ? (set[0] as { RouteTableId?: unknown } | undefined) : undefined;
  if (!first || typeof first.RouteTableId !== 'string') throw tencentTableMissing(`of VPC ${facts.vpcId}`, `none found (DescribeRouteTables with vpc-id=${facts.vpcId} returned no table)`);
  return {
    type: TENCENT_VPC,
    instance: `${opts.gatewayIp.toString()} (NORMAL_CVM) in ${facts.region}/${facts.vpcId}`,
    tables: [new TencentRouteTable(api, first.RouteTableId, opts.gatewayIp)],
  };
}
