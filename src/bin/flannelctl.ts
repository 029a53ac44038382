/**
 * flannelctl as a process: standard streams, SIGINT/SIGTERM to one AbortController, the exit
 * code. bin/flannelctl (node) and flannelctl-sea.ts (the packaged executable) both call it.
 */
import { flannelctlMain } from '../ctl/ctl-main.js';

/** Reads all of standard input (bounded to 16 MiB). */
async function readStdin(signal: AbortSignal): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin.iterator({ destroyOnReturn: true }) as AsyncIterable<Buffer>) {
    signal.throwIfAborted();
    size += chunk.length;
    if (size > 16 << 20) throw new RangeError('standard input is larger than 16 MiB');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function runFlannelctl(): Promise<number> {
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => ac.abort(new Error(sig));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await flannelctlMain(
      process.argv.slice(2),
      process.env,
      {
        stdout: (text) => process.stdout.write(text),
        stderr: (text) => process.stderr.write(text),
        readStdin,
      },
      { signal: ac.signal },
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
