import type { Backend, BackendContext, Network } from '../backend.js';
import { registerCloudRouteNetwork, type CloudRouteTiming } from '../cloud/cloud-route-network.js';
import { parseAwsVpcConfig } from './awsvpc-config.js';

/**
 * The aws-vpc backend: no overlay; one route `lease subnet -> this instance's ENI` in the VPC
 * route table(s), kept by the shared cloud route loop. The EC2 SDK is imported by connectAws(),
 * after the config is known to be good.
 */
export class AwsVpcBackend implements Backend {
  readonly type = 'aws-vpc';
  readonly usesKernel = false;

  constructor(private readonly timing: CloudRouteTiming = {}) {}

  async registerNetwork(ctx: BackendContext, signal: AbortSignal): Promise<Network> {
    const cfg = parseAwsVpcConfig(ctx.config.backend);
    ctx.logger.info(`RouteTableID ${cfg.routeTableIds ? cfg.routeTableIds.join(', ') : '(not set: discovered)'}`);
    return registerCloudRouteNetwork(
      ctx,
      {
        ...this.timing,
        type: this.type,
        connect: async (s) => (await import('./aws-provider.js')).connectAws(ctx, cfg, s),
      },
      signal,
    );
  }
}
