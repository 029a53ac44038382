/**
 * GC (spec 1.1): removes the saved delegate configs of containers that are not among the
 * runtime's valid attachments. libcni has already sent DEL for the attachments it knew about;
 * what is left here leaked (a runtime that lost its cache, a crash mid-DEL). Each is undone by
 * the delegate's DEL first, best effort (with CNI_IFNAME from the environment, else "eth0", as
 * the saved file does not record the interface), and removed when that DEL succeeds. Failures
 * are reported together after everything was tried.
 */
import { CniError } from '../errors.js';
import { CniCode } from './cni-spec.js';
import { runDelegate } from './delegate-invoke.js';
import { isObject } from './net-conf.js';
import { listStates, readState, removeState } from './state-store.js';
import type { VerbContext } from './verb-context.js';

export const GC_DEFAULT_IFNAME = 'eth0';
/** Bound on the state files one GC handles (the rest wait for the next GC). */
const MAX_PER_RUN = 10_000;

export async function cmdGc(ctx: VerbContext): Promise<undefined> {
  const { conf, env } = ctx;
  if (!conf.validAttachments) {
    throw new CniError(CniCode.INVALID_NETWORK_CONFIG, 'invalid network config: GC needs cni.dev/valid-attachments');
  }
  const valid = new Set(conf.validAttachments.map((a) => a.containerId));
  const stale = (await listStates(conf.dataDir)).filter((id) => !valid.has(id)).slice(0, MAX_PER_RUN);
  const failures: string[] = [];
  for (const id of stale) {
    ctx.signal.throwIfAborted();
    try {
      const saved = await readState(conf.dataDir, id);
      if (saved === undefined) continue;
      let doc: unknown;
      try {
        doc = JSON.parse(saved);
      } catch {
        doc = undefined;
      }
      if (isObject(doc) && typeof doc.type === 'string') {
        await runDelegate({
          type: doc.type,
          command: 'DEL',
          stdin: saved,
          env: { ...ctx.processEnv, CNI_CONTAINERID: id, CNI_IFNAME: ctx.processEnv.CNI_IFNAME || GC_DEFAULT_IFNAME, CNI_NETNS: '' },
          cniPath: env.path,
          signal: ctx.signal,
          stderr: ctx.stderr,
        });
      }
      await removeState(conf.dataDir, id);
      ctx.log(`GC: released stale container ${id}`);
    } catch (err) {
      failures.push(`${id}: ${(err as Error).message}`);
    }
  }
  if (failures.length > 0) {
    throw new CniError(CniCode.DELEGATE_FAILED, `GC: ${failures.length} of ${stale.length} stale containers not released`, {
      details: failures.join('\n'),
    });
  }
  return undefined;
}
