/**
 * The entry point of the packaged `flannel` CNI plugin executable: what bin/flannel does on a
 * node install. Started with PROBE_ARG it is instead the CHECK verb's namespace probe (the
 * executable has no script files to start, so CHECK re-enters itself inside the pod's netns).
 * Runtimes start a CNI plugin without arguments, so the probe's module (and the child_process
 * it loads) is only loaded when there are some: VERSION and errors answer without it.
 */
import { cniMain, processIO, quickExit } from '../cni/cni-main.js';

const io = { stdout: (t: string) => process.stdout.write(t), stderr: (t: string) => process.stderr.write(t) };

async function main(): Promise<number> {
  if (process.argv.length > 2) {
    const { PROBE_ARG, netnsProbeMain } = await import('../kernel/netns-snapshot.js');
    if (process.argv[2] === PROBE_ARG) return netnsProbeMain(io);
  }
  return cniMain(process.env, processIO());
}

main().then(
  (code) => {
    const exit = quickExit();
    if (exit) exit(code);
    process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`flannel: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
