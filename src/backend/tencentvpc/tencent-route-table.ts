import type { IPAddress } from '../../ip/ip-address.js';
import type { IPNetwork } from '../../ip/ip-network.js';
import type { CloudRoute, CloudRouteTable } from '../cloud/route-table.js';
import { TencentApiError, tencentTableFull, tencentTableMissing } from './tencent-api-error.js';
import { TENCENT_GATEWAY_TYPE } from './tencent-vpc-actions.js';
import type { TencentVpcApi } from './tencent-vpc-client.js';

/** A VPC API `Route` as DescribeRouteTables returns it (the fields this backend reads). */
export interface TencentRoute {
  readonly RouteId?: number;
  readonly DestinationCidrBlock?: string;
  readonly GatewayType?: string;
  readonly GatewayId?: string;
  readonly Enabled?: boolean;
  readonly RouteType?: string;
}

/**
 * One VPC route table, written as flannel writes it: `DestinationCidrBlock` = the lease subnet,
 * `GatewayType` = NORMAL_CVM, `GatewayId` = this instance's private IP, `Enabled`. A route of ours
 * that is disabled does not count (flannel deletes it and creates it again).
 */
export class TencentRouteTable implements CloudRouteTable {
  readonly name: string;

  constructor(
    private readonly api: TencentVpcApi,
    readonly routeTableId: string,
    private readonly gatewayIp: IPAddress,
  ) {
    this.name = routeTableId;
  }

  /** DescribeRouteTables by RouteTableIds: this table's RouteSet. */
  async routes(signal: AbortSignal): Promise<TencentRoute[]> {
    let res: Record<string, unknown>;
    try {
      res = await this.api.call('DescribeRouteTables', { RouteTableIds: [this.routeTableId] }, signal);
    } catch (err) {
      if (err instanceof TencentApiError && err.apiCode?.startsWith('ResourceNotFound')) throw tencentTableMissing(this.routeTableId, 'not found (deleted?)', err);
      throw err;
    }
    const set = res['RouteTableSet'];
    const table = Array.isArray(set) ? (set as { RouteTableId?: unknown; RouteSet?: unknown }[]).find((t) => t.RouteTableId === this.routeTableId) : undefined;
    if (!table) throw tencentTableMissing(this.routeTableId, 'not in the DescribeRouteTables answer (deleted?)');
    return Array.isArray(table.RouteSet) ? (table.RouteSet as TencentRoute[]) : [];
  }

  isOurs(r: TencentRoute): boolean {
    return r.GatewayType === TENCENT_GATEWAY_TYPE && r.GatewayId === this.gatewayIp.toString() && r.Enabled !== false;
  }

  async list(signal: AbortSignal): Promise<CloudRoute[]> {
    const out: CloudRoute[] = [];
    for (const r of await this.routes(signal)) {
      if (typeof r.DestinationCidrBlock !== 'string' || r.DestinationCidrBlock === '') continue; // IPv6 routes carry DestinationIpv6CidrBlock
      out.push({
        destination: r.DestinationCidrBlock,
        targetsThisInstance: this.isOurs(r),
        handle: r.RouteId !== undefined ? String(r.RouteId) : undefined,
        target: `${r.GatewayType ?? '?'} ${r.GatewayId ?? '?'}${r.Enabled === false ? ' (disabled)' : ''}`,
      });
    }
    return out;
  }

  /**
   * Puts `destination -> this instance`: nothing when an enabled route of ours is there; else the
   * routes of that destination (another target, or ours disabled) are deleted and ours created.
   */
  async put(destination: IPNetwork, signal: AbortSignal): Promise<void> {
    const dest = destination.toString();
    const same = (await this.routes(signal)).filter((r) => r.DestinationCidrBlock === dest);
    if (same.some((r) => this.isOurs(r))) return;
    const stale = same.filter((r) => r.RouteId !== undefined).map((r) => ({ RouteId: r.RouteId }));
    if (stale.length > 0) await this.deleteRoutes(stale, signal);
    try {
      await this.api.call(
        'CreateRoutes',
        {
          RouteTableId: this.routeTableId,
          Routes: [{ DestinationCidrBlock: dest, GatewayType: TENCENT_GATEWAY_TYPE, GatewayId: this.gatewayIp.toString(), Enabled: true }],
        },
        signal,
      );
    } catch (err) {
      if (err instanceof TencentApiError && err.apiCode?.startsWith('LimitExceeded')) throw tencentTableFull(this.routeTableId, dest, err);
      if (err instanceof TencentApiError && err.apiCode?.startsWith('ResourceNotFound')) throw tencentTableMissing(this.routeTableId, 'not found (deleted?)', err);
      throw err;
    }
  }

  async remove(route: CloudRoute, signal: AbortSignal): Promise<void> {
    if (route.handle === undefined) return;
    await this.deleteRoutes([{ RouteId: Number(route.handle) }], signal);
  }

  /** DeleteRoutes by RouteId; a route already gone (ResourceNotFound) is not an error. */
  private async deleteRoutes(routes: readonly { RouteId: number | undefined }[], signal: AbortSignal): Promise<void> {
    try {
      await this.api.call('DeleteRoutes', { RouteTableId: this.routeTableId, Routes: routes }, signal);
    } catch (err) {
      if (err instanceof TencentApiError && err.apiCode?.startsWith('ResourceNotFound')) return;
      throw err;
    }
  }
}
