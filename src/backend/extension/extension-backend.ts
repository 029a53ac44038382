import { untilAborted } from '../../async/abortable-sleep.js';
import { errorMessage } from '../../errors.js';
import type { IPAddress } from '../../ip/ip-address.js';
import type { IPNetwork } from '../../ip/ip-network.js';
import type { Lease, LeaseEvent } from '../../lease/lease.js';
import type { Logger } from '../../log/logger.js';
import type { Backend, BackendContext, Network } from '../backend.js';
import { parseExtensionConfig, type ExtensionConfig } from './extension-config.js';
import { runExtensionCommand, type ExtensionCommandField } from './extension-command.js';

export const EXTENSION_BACKEND_TYPE = 'extension';

/**
 * How Go flannel prints what it puts in the commands' environment: an absent IPv4 subnet or
 * address is Go's zero value, an absent IPv6 subnet `::/0`, an absent IPv6 address (a nil
 * pointer) `<nil>`.
 */
export const envValue = {
  net4: (n: IPNetwork | undefined) => n?.toString() ?? '0.0.0.0/0',
  net6: (n: IPNetwork | undefined) => n?.toString() ?? '::/0',
  ip4: (ip: IPAddress | undefined) => ip?.toString() ?? '0.0.0.0',
  ip6: (ip: IPAddress | undefined) => ip?.toString() ?? '<nil>',
};

/**
 * The extension backend: flannel's hooks for prototyping a data path with external programs.
 * PreStartupCommand runs before the lease is taken and its output becomes the lease's
 * BackendData (a JSON string); PostStartupCommand runs once the lease is held; SubnetAddCommand
 * and SubnetRemoveCommand run for each remote lease that comes or goes, in event order, with the
 * peer's BackendData on standard input. A failing start-up command stops the agent; a failing
 * subnet command is logged and the next event handled (flannel retries nothing).
 */
export class ExtensionBackend implements Backend {
  readonly type = EXTENSION_BACKEND_TYPE;
  readonly usesKernel = false;

  async registerNetwork(ctx: BackendContext, signal: AbortSignal): Promise<Network> {
    const cfg = parseExtensionConfig(ctx.config.backend);
    const log = ctx.logger;
    let backendData: string | undefined;
    if (cfg.PreStartupCommand) {
      backendData = await runLogged(log, { field: 'PreStartupCommand', command: cfg.PreStartupCommand, env: {}, stdin: '', signal });
    } else {
      log.info('no PreStartupCommand configured');
    }
    // As flannel: the interface's own addresses, not -public-ip, are published for this backend.
    const publicIP = ctx.extIface.ifaceAddr;
    const publicIPv6 = ctx.extIface.ifaceV6Addr;
    const lease = await ctx.acquireLease({ publicIP, publicIPv6, backendType: EXTENSION_BACKEND_TYPE, backendData, backendV6Data: undefined }, signal);
    if (cfg.PostStartupCommand) {
      const env = {
        NETWORK: envValue.net4(ctx.config.network),
        SUBNET: envValue.net4(lease.subnet),
        IPV6SUBNET: envValue.net6(lease.ipv6Subnet),
        PUBLIC_IP: envValue.ip4(publicIP),
        PUBLIC_IPV6: envValue.ip6(publicIPv6),
      };
      await runLogged(log, { field: 'PostStartupCommand', command: cfg.PostStartupCommand, env, stdin: '', signal });
    } else {
      log.info('no PostStartupCommand configured');
    }
    return {
      lease,
      mtu: ctx.extIface.mtu,
      run: (events, runSignal) => runSubnetCommands(cfg, log, events, runSignal),
    };
  }
}

async function runLogged(
  log: Logger,
  run: { field: ExtensionCommandField; command: string; env: Readonly<Record<string, string>>; stdin: string; signal: AbortSignal },
): Promise<string> {
  const output = await runExtensionCommand(run);
  log.info(`ran ${run.field} ${JSON.stringify(run.command)}; output: ${JSON.stringify(output)}`);
  return output;
}

async function runSubnetCommands(cfg: ExtensionConfig, log: Logger, events: AsyncIterable<readonly LeaseEvent[]>, signal: AbortSignal): Promise<void> {
  const handle = (async () => {
    for await (const batch of events) {
      for (const ev of batch) {
        if (signal.aborted) return;
        await handleEvent(cfg, log, ev, signal);
      }
    }
  })();
  await Promise.race([handle, untilAborted(signal)]);
  handle.catch(() => {});
}

/** One lease event: the add or remove command for that peer, as flannel runs it. */
async function handleEvent(cfg: ExtensionConfig, log: Logger, ev: LeaseEvent, signal: AbortSignal): Promise<void> {
  const l = ev.lease;
  const added = ev.type === 'added';
  if (added) log.info(`subnet added: ${envValue.net4(l.subnet)} via ${envValue.ip4(l.attrs.publicIP)}`);
  else log.info(`subnet removed: ${envValue.net4(l.subnet)}`);
  if (l.attrs.backendType !== EXTENSION_BACKEND_TYPE) {
    log.warn(`ignoring non-extension subnet ${describeSubnets(l)}: type=${l.attrs.backendType ?? ''}`);
    return;
  }
  const field: ExtensionCommandField = added ? 'SubnetAddCommand' : 'SubnetRemoveCommand';
  const command = cfg[field];
  if (!command) return;
  const data = l.attrs.backendData;
  if (data !== undefined && data !== null && typeof data !== 'string') {
    log.error(`skipping ${field} for ${describeSubnets(l)}: its BackendData ${JSON.stringify(data)} is not a JSON string`);
    return;
  }
  const env = { SUBNET: envValue.net4(l.subnet), PUBLIC_IP: envValue.ip4(l.attrs.publicIP) };
  try {
    await runLogged(log, { field, command, env, stdin: data ?? '', signal });
  } catch (err) {
    if (signal.aborted) return;
    log.error(errorMessage(err));
  }
}

function describeSubnets(l: Lease): string {
  return [l.subnet, l.ipv6Subnet].filter((n) => n !== undefined).join(',') || '(no subnet)';
}
