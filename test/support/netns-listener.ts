/**
 * listenInNetns(): a TCP listening socket inside a network namespace, usable by this process.
 * A child (`ip netns exec $ns node ...`) creates the socket, where the namespace makes it
 * belong, and passes it back over IPC; a socket keeps the namespace it was made in, so an HTTP
 * server in this process can serve, through it, clients inside the test's namespaces.
 */
import { spawn } from 'node:child_process';
import type { Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { HarnessError } from './errors.js';

const CHILD = fileURLToPath(new URL('./fixtures/netns-listen-child.js', import.meta.url));

export function listenInNetns(ns: string, host: string, port: number, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<Server> {
  return new Promise<Server>((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, CHILD, host, String(port)], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      signal: opts.signal,
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(`no listening socket after ${opts.timeoutMs ?? 10_000} ms`);
    }, opts.timeoutMs ?? 10_000);
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new HarnessError(`listen on ${host}:${port} in netns ${ns}: ${why}${stderr ? `: ${stderr.trim()}` : ''}`));
    };
    child.on('message', (msg: { error?: string }, handle: unknown) => {
      clearTimeout(timer);
      if (handle) resolve(handle as Server);
      else fail(msg.error ?? 'no socket passed');
    });
    child.on('error', (err) => fail(err.message));
    child.on('exit', (code) => {
      if (code !== 0) fail(`child exited with ${code}`);
    });
  });
}
