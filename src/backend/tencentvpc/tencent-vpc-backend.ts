import { InterfaceError } from '../../errors.js';
import type { Backend, BackendContext, Network } from '../backend.js';
import { registerCloudRouteNetwork, type CloudRouteTiming } from '../cloud/cloud-route-network.js';
import { TENCENT_VPC } from './tencent-api-error.js';
import { parseTencentVpcConfig } from './tencent-vpc-config.js';
import { connectTencentVpc } from './tencent-vpc-provider.js';

/**
 * flannel's tencent-vpc backend: one route per lease (`subnet -> this CVM`) in the VPC's route
 * table, no overlay. Options and credentials are checked before the lease is taken.
 */
export class TencentVpcBackend implements Backend {
  readonly type = TENCENT_VPC;
  readonly usesKernel = false;

  constructor(
    private readonly env: Readonly<Record<string, string | undefined>> = process.env,
    private readonly timing: CloudRouteTiming = {},
  ) {}

  async registerNetwork(ctx: BackendContext, signal: AbortSignal): Promise<Network> {
    const config = parseTencentVpcConfig(ctx.config.backend, this.env);
    const gatewayIp = ctx.extIface.extAddr;
    if (!gatewayIp) throw new InterfaceError('tencent-vpc: no IPv4 address on the external interface to route to');
    return registerCloudRouteNetwork(
      ctx,
      { ...this.timing, type: TENCENT_VPC, env: this.env, connect: (s) => connectTencentVpc({ config, gatewayIp, logger: ctx.logger }, s) },
      signal,
    );
  }
}
