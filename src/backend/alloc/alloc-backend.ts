import { untilAborted } from '../../async/abortable-sleep.js';
import type { LeaseEvent } from '../../lease/lease.js';
import type { Backend, BackendContext, Network } from '../backend.js';

/** The alloc backend: takes a lease and programs nothing (flannel sets no BackendType for it). */
export class AllocBackend implements Backend {
  readonly type = 'alloc';
  readonly usesKernel = false;

  async registerNetwork(ctx: BackendContext, signal: AbortSignal): Promise<Network> {
    const lease = await ctx.acquireLease(
      {
        publicIP: ctx.extIface.extAddr,
        publicIPv6: ctx.extIface.extV6Addr,
        backendType: undefined,
        backendData: undefined,
        backendV6Data: undefined,
      },
      signal,
    );
    return {
      lease,
      mtu: ctx.extIface.mtu,
      async run(events: AsyncIterable<readonly LeaseEvent[]>, runSignal: AbortSignal): Promise<void> {
        const log = ctx.logger;
        const drain = (async () => {
          for await (const batch of events) {
            for (const ev of batch) log.v(1).info(`lease ${ev.type}: ${ev.lease.subnet?.toString() ?? ev.lease.ipv6Subnet?.toString()}`);
          }
        })();
        await Promise.race([drain, untilAborted(runSignal)]);
      },
    };
  }
}
