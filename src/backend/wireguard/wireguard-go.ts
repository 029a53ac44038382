import { execFile, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { sleep } from '../../async/abortable-sleep.js';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { UapiControl, UAPI_SOCKET_DIR, uapiSocketPath } from './uapi-client.js';
import { WireguardGoError } from './wireguard-errors.js';

/** The userspace implementation, run by name from PATH (the packaged executables carry no files). */
export const WIREGUARD_GO = 'wireguard-go';
const READY_TIMEOUT_MS = 5000;

export interface WireguardGoOptions {
  readonly device: string;
  readonly logger: Logger;
  /** The program (default `wireguard-go` from PATH). */
  readonly command?: string;
  /** Where its UAPI socket appears (default /var/run/wireguard, fixed in wireguard-go). */
  readonly socketDir?: string;
}

/**
 * Runs `wireguard-go -f <device>` for one device: in the foreground (so its pid is ours to
 * watch), in its own session (a signal to the agent's process group does not take the tunnel
 * down), unreferenced (it outlives the agent: a restart adopts the device without dropping
 * traffic), its output appended to `<socket dir>/<device>.log` (never a pipe to the agent, which
 * it would outlive). Ready once its UAPI socket answers.
 */
export async function startWireguardGo(opts: WireguardGoOptions, signal?: AbortSignal): Promise<{ pid: number; control: UapiControl; exited: Promise<string> }> {
  const dir = opts.socketDir ?? UAPI_SOCKET_DIR;
  const control = new UapiControl(opts.device, uapiSocketPath(opts.device, dir));
  const command = opts.command ?? WIREGUARD_GO;
  // A socket left by a dead process would answer nothing; wireguard-go binds it anew.
  await unlink(control.socketPath).catch(() => {});
  const logFile = join(dir, `${opts.device}.log`);
  let out: number;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    out = openSync(logFile, 'a', 0o600);
  } catch (err) {
    throw new WireguardGoError(`wireguard: cannot prepare ${logFile} for ${command}: ${errorMessage(err)}`, { cause: err });
  }
  let child;
  try {
    child = spawn(command, ['-f', opts.device], {
      detached: true,
      stdio: ['ignore', out, out],
      env: { ...process.env, LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'error' },
    });
  } finally {
    closeSync(out);
  }
  const exited = new Promise<string>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      resolve(err.code === 'ENOENT' ? 'not found' : errorMessage(err));
    });
    child.once('exit', (code, sig) => resolve(sig ? `killed by ${sig}` : `exit status ${code ?? 0}`));
  });
  child.unref();
  let ended: string | undefined;
  void exited.then((why) => (ended = why));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (ended === undefined && Date.now() < deadline) {
    if (await control.alive(signal)) {
      return { pid: child.pid ?? 0, control, exited };
    }
    await sleep(20, signal);
  }
  if (ended === 'not found') {
    throw new WireguardGoError(
      `wireguard: the kernel has no WireGuard and ${command} is not installed (not found in PATH ${process.env['PATH'] ?? ''}); install the wireguard-go package or load the wireguard kernel module`,
    );
  }
  if (ended === undefined) {
    try {
      process.kill(child.pid ?? 0, 'SIGTERM');
    } catch {
      // gone meanwhile
    }
  }
  const tail = (await readFile(logFile, 'utf8').catch(() => '')).trimEnd().split('\n').slice(-5).join(' | ');
  throw new WireguardGoError(
    `wireguard: ${command} -f ${opts.device} ${ended ? `ended (${ended})` : `did not answer on ${control.socketPath} within ${READY_TIMEOUT_MS} ms`}${tail ? `: ${tail}` : ''}`,
  );
}

/** `wireguard-go --version`'s first line, for the log ("unknown" when it cannot say). */
export function wireguardGoVersion(command = WIREGUARD_GO): Promise<string> {
  return new Promise((resolve) => {
    execFile(command, ['--version'], { timeout: 3000 }, (err, stdout) => {
      const line = String(stdout).split('\n')[0]?.trim();
      resolve(!err && line ? line : 'unknown version');
    });
  });
}
