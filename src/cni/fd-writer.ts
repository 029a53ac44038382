/**
 * Output to the plugin's stdout and stderr without building process.stdout/process.stderr:
 * those streams (a net.Socket for a pipe, a SyncWriteStream for a file) cost ~2-3 ms to set up
 * in a run that is mostly start-up, and the plugin writes one result and a log line or two.
 * The text is written to the descriptor synchronously; if that fails (a non-blocking pipe that
 * is full, a closed descriptor), the rest and everything after it goes through the stream, so
 * the output stays in order and fails as it would have through the stream alone.
 */
import { writeSync } from 'node:fs';

let streamed = false;

/** No writer has fallen back to its stream: everything written is with the kernel already. */
export function allWrittenSync(): boolean {
  return !streamed;
}

/** A writer to descriptor `fd`, with `stream` (e.g. () => process.stdout) as the fallback. */
export function fdWriter(fd: number, stream: () => { write(chunk: Uint8Array | string): unknown }): (text: string) => void {
  let viaStream = false;
  return (text) => {
    if (viaStream) {
      stream().write(text);
      return;
    }
    const bytes = Buffer.from(text, 'utf8');
    let off = 0;
    try {
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    } catch {
      viaStream = true;
      streamed = true;
      stream().write(bytes.subarray(off));
    }
  };
}
