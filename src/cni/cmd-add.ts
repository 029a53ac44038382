/**
 * ADD, as flannel's plugin does it: read subnet.env, build the delegate config, save it under
 * dataDir by container ID, run the delegate's ADD and hand its result back unchanged. Unlike
 * flannel's plugin, the delegate's executable is looked up before anything is saved, so a
 * missing delegate leaves no state behind.
 */
import { CniError } from '../errors.js';
import { CniCode } from './cni-spec.js';
import { buildDelegateConfig } from './delegate-config.js';
import { findPlugin, runDelegate } from './delegate-invoke.js';
import { decodeJsonObject } from './net-conf.js';
import { saveState } from './state-store.js';
import { loadSubnetFacts } from './subnet-facts.js';
import { formatTiming, runTiming } from './timing.js';
import type { VerbContext } from './verb-context.js';

export async function cmdAdd(ctx: VerbContext): Promise<string> {
  const { conf, env } = ctx;
  const facts = await loadSubnetFacts(conf.subnetFile);
  const delegate = buildDelegateConfig(conf, facts);
  const type = delegate.type as string;
  const file = await findPlugin(type, env.path);
  const bytes = JSON.stringify(delegate);
  await saveState(conf.dataDir, env.containerId, bytes);
  const out = await runDelegate({
    type,
    file,
    command: 'ADD',
    stdin: bytes,
    env: ctx.processEnv,
    cniPath: env.path,
    signal: ctx.signal,
    stderr: ctx.stderr,
  });
  // The runtime needs a result document; a delegate that printed something else failed.
  try {
    decodeJsonObject(out.stdout, `result of delegate ${type} ADD`);
  } catch (err) {
    throw new CniError(CniCode.DELEGATE_FAILED, (err as Error).message, { cause: err });
  }
  ctx.log(`ADD ${env.containerId} ${env.ifName}: ${formatTiming(runTiming(out.elapsedMs, ctx.startedMs ?? 0), String(type))}`);
  return out.stdout.endsWith('\n') ? out.stdout : `${out.stdout}\n`;
}
