import type { Backend, BackendContext, Network } from '../backend.js';
import { registerCloudRouteNetwork, type CloudRouteTiming } from '../cloud/cloud-route-network.js';
import { parseGceConfig } from './gce-config.js';
import type { GceTiming } from './gce-provider.js';

/**
 * The gce backend (flannel's backend/gce, removed after v0.15): no overlay; one route per host
 * in the VPC network, `lease subnet -> this instance` (nextHopInstance), named
 * `flannel-<subnet with dashes>`, priority 1000. The shared cloud route loop does the leases,
 * removals and reconcile; gce-provider.ts talks to the Compute API through @google-cloud/compute,
 * imported only here, when this backend is chosen.
 */
export class GceBackend implements Backend {
  readonly type = 'gce';
  readonly usesKernel = false;

  /** Test seams: the loop's pacing and the API call deadlines (production uses the defaults). */
  constructor(private readonly timing: CloudRouteTiming & { gce?: Partial<GceTiming> } = {}) {}

  async registerNetwork(ctx: BackendContext, signal: AbortSignal): Promise<Network> {
    // Options are checked before the lease is taken: a bad value fails at once, naming the field.
    const config = parseGceConfig(ctx.config.backend);
    const { gce, ...loopTiming } = this.timing;
    return registerCloudRouteNetwork(
      ctx,
      {
        ...loopTiming,
        type: this.type,
        connect: async (connectSignal) =>
          (await import('./gce-provider.js')).openGceProvider({ config, logger: ctx.logger, signal: connectSignal, timing: gce }),
      },
      signal,
    );
  }
}
