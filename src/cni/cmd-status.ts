/**
 * STATUS (spec 1.1): the plugin can serve ADD when flanneld has written a usable subnet.env
 * and the delegate and its IPAM plugin are installed on CNI_PATH; otherwise error 50 (not
 * available). The delegates are not asked for their own STATUS: Debian's bridge 1.1.1 predates
 * the verb.
 */
import { CniError } from '../errors.js';
import { CniCode } from './cni-spec.js';
import { buildDelegateConfig } from './delegate-config.js';
import { findPlugin } from './delegate-invoke.js';
import { isObject } from './net-conf.js';
import { loadSubnetFacts } from './subnet-facts.js';
import type { VerbContext } from './verb-context.js';

export async function cmdStatus(ctx: VerbContext): Promise<undefined> {
  const { conf, env } = ctx;
  let delegate;
  try {
    delegate = buildDelegateConfig(conf, await loadSubnetFacts(conf.subnetFile));
  } catch (err) {
    if (!(err instanceof CniError) || err.cniCode === CniCode.INVALID_NETWORK_CONFIG) throw err;
    throw new CniError(CniCode.NOT_AVAILABLE, `flannel is not ready: ${err.message}`, { cause: err });
  }
  const types = [delegate.type, isObject(delegate.ipam) ? delegate.ipam.type : undefined].filter((t): t is string => typeof t === 'string');
  for (const t of types) {
    try {
      await findPlugin(t, env.path);
    } catch (err) {
      throw new CniError(CniCode.NOT_AVAILABLE, `flannel is not ready: ${(err as Error).message}`, { cause: err });
    }
  }
  return undefined;
}
