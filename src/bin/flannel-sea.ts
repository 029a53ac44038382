/**
 * The entry point of the packaged `flannel` CNI plugin executable: what bin/flannel does on a
 * node install. Started with PROBE_ARG it is instead the CHECK verb's namespace probe (the
 * executable has no script files to start, so CHECK re-enters itself inside the pod's netns).
 */
import { cniMain, processIO } from '../cni/cni-main.js';
import { PROBE_ARG, netnsProbeMain } from '../kernel/netns-snapshot.js';

const io = { stdout: (t: string) => process.stdout.write(t), stderr: (t: string) => process.stderr.write(t) };
const run = process.argv[2] === PROBE_ARG ? netnsProbeMain(io) : cniMain(process.env, processIO());
run.then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`flannel: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
