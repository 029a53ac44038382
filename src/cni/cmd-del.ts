/**
 * DEL, as flannel's plugin does it: read back the delegate config ADD saved for the container,
 * run the delegate's DEL with it, then remove it. Nothing saved means nothing to undo: success.
 * A saved file that does not parse is left in place and the DEL succeeds (flannel's choice: the
 * host interface goes away at the latest with the node's next reboot).
 */
import { runDelegate } from './delegate-invoke.js';
import { isObject } from './net-conf.js';
import { readState, removeState } from './state-store.js';
import { formatTiming, runTiming } from './timing.js';
import type { VerbContext } from './verb-context.js';

export async function cmdDel(ctx: VerbContext): Promise<undefined> {
  const { conf, env } = ctx;
  const saved = await readState(conf.dataDir, env.containerId);
  if (saved === undefined) return undefined;
  let type: unknown;
  try {
    const doc: unknown = JSON.parse(saved);
    type = isObject(doc) ? doc.type : undefined;
  } catch (err) {
    ctx.log(`DEL ${env.containerId}: saved delegate config in ${conf.dataDir} does not parse (${(err as Error).message}); left in place`);
    return undefined;
  }
  const out = await runDelegate({
    type: typeof type === 'string' ? type : '',
    command: 'DEL',
    stdin: saved,
    env: ctx.processEnv,
    cniPath: env.path,
    signal: ctx.signal,
    stderr: ctx.stderr,
  });
  await removeState(conf.dataDir, env.containerId);
  ctx.log(`DEL ${env.containerId} ${env.ifName}: ${formatTiming(runTiming(out.elapsedMs, ctx.startedMs ?? 0), String(type))}`);
  return undefined;
}
