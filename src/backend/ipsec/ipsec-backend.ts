import { InterfaceError } from '../../errors.js';
import type { Backend, BackendContext, Network } from '../backend.js';
import { PeerNetwork } from '../peer-network.js';
import { CharonDaemon } from './charon-daemon.js';
import { ipsecLeaseAttrs, parseIpsecConfig } from './ipsec-config.js';
import { IpsecDataPath } from './ipsec-data-path.js';

/** Where charon's config and VICI socket go unless FLANNEL_IPSEC_RUN_DIR says otherwise. */
export const IPSEC_RUN_DIR = '/run/flannel/ipsec';

/**
 * flannel's ipsec backend: strongSwan's charon as flanneld's child (IKEv2 with a PSK), one IKE
 * connection and child SA per peer loaded over VICI, the kernel's XFRM doing ESP. IPv4 only, as
 * flannel. The MTU is the interface's, as flannel reports it.
 */
export class IpsecBackend implements Backend {
  readonly type = 'ipsec';
  readonly usesKernel = true;

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  async registerNetwork(ctx: BackendContext, signal: AbortSignal): Promise<Network> {
    const cfg = parseIpsecConfig(ctx.config.backend);
    const log = ctx.logger;
    log.info(`ipsec config: UDPEncap=${cfg.udpEncap} ESPProposal=${cfg.espProposal}`);
    const publicIP = ctx.extIface.extAddr;
    if (!publicIP) throw new InterfaceError(`ipsec: interface ${ctx.extIface.name} has no public IPv4 address`);
    const kernel = ctx.kernel();
    const ext = await kernel.linkByName(ctx.extIface.name, { signal });
    const lease = await ctx.acquireLease(ipsecLeaseAttrs(publicIP), signal);
    if (!lease.subnet) throw new InterfaceError('ipsec: the lease has no IPv4 subnet');

    const charon: CharonDaemon = new CharonDaemon({
      runDir: this.env['FLANNEL_IPSEC_RUN_DIR'] ?? IPSEC_RUN_DIR,
      logger: log,
      // Runs only after a restart, i.e. after dataPath exists.
      onRestart: (_vici, s): Promise<void> => dataPath.reloadAll(s),
    });
    const dataPath: IpsecDataPath = new IpsecDataPath(cfg, charon.vici, { publicIP, subnet: lease.subnet }, [ctx.config.network]);
    const charonAc = new AbortController();
    await charon.start(charonAc.signal);
    try {
      await dataPath.reloadAll(signal);
    } catch (err) {
      // Nothing half-made: a charon without its secret goes.
      charonAc.abort();
      await charon.stop();
      throw err;
    }
    const peers = new PeerNetwork({ kernel, dataPath, logger: log, resyncMs: ctx.resyncMs, metrics: ctx.metrics });
    return {
      lease,
      mtu: ext.mtu,
      run: async (events, runSignal) => {
        try {
          await peers.run(events, runSignal);
        } finally {
          // As flannel: charon goes with the agent (and takes its SAs and policies with it).
          charonAc.abort();
          await charon.stop();
        }
      },
    };
  }
}
