/**
 * The child side of readNetnsSnapshot(): started by `nsenter --net=<path>` inside the namespace
 * to read, it prints that namespace's links, addresses and routes as one JSON document on
 * stdout. Exit status 1 with the error on stderr when the kernel cannot be read.
 */
import { NetlinkKernel } from './kernel-ops.js';
import { snapshotOwnNetns } from './netns-snapshot.js';

async function probe(): Promise<number> {
  const kernel = new NetlinkKernel();
  try {
    const snap = await snapshotOwnNetns(kernel, AbortSignal.timeout(5000));
    process.stdout.write(JSON.stringify(snap) + '\n');
    return 0;
  } catch (err) {
    process.stderr.write(`netns-probe: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    kernel.close();
  }
}

process.exitCode = await probe();
