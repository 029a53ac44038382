/**
 * Which flannel-ts the end-to-end tests drive. By default the repository's bin/flanneld and
 * bin/flannel on this machine's node. With FLANNEL_TS_PACKAGED=<dir> (scripts/test.sh sets it
 * for its packaged pass), the single executables <dir>/flanneld and <dir>/flannel, each run
 * with no Node.js reachable: a private mount namespace in which every node binary on PATH (and
 * the one running the tests) is covered by /dev/null, and the repository's node_modules and
 * dist by empty tmpfs mounts. So a packaged test passes only if the executable needs none of
 * them. Equivalent to: `unshare --mount sh -c 'mount --bind /dev/null /usr/bin/node; ...; exec "$@"'`.
 */
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGED_ENV = 'FLANNEL_TS_PACKAGED';
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The folder of the packaged executables under test, or undefined for the node scripts. */
export function packagedDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = env[PACKAGED_ENV];
  return dir ? dir : undefined;
}

/** Every node binary this machine could start by name or by the test runner's path. */
export function nodeBinaries(env: NodeJS.ProcessEnv = process.env): string[] {
  const found = new Set<string>();
  const add = (p: string) => {
    if (!existsSync(p)) return;
    found.add(p);
    found.add(realpathSync(p));
  };
  for (const dir of (env['PATH'] ?? '').split(delimiter).filter(Boolean)) {
    for (const name of ['node', 'nodejs']) add(join(dir, name));
  }
  add(process.execPath);
  return [...found].sort();
}

/** Folders of the repository a packaged executable must not need. */
export function repoRuntimeDirs(): string[] {
  return ['node_modules', 'dist'].map((d) => join(REPO_ROOT, d)).filter((d) => existsSync(d) && readdirSync(d).length > 0);
}

/** argv, run where no node, node_modules or dist of this repository can be reached. */
export function withoutNode(argv: readonly string[]): string[] {
  const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const masks = [
    ...nodeBinaries().map((f) => `mount --bind /dev/null ${q(f)}`),
    ...repoRuntimeDirs().map((d) => `mount -t tmpfs -o size=4k,mode=0555 flannel-ts-hidden ${q(d)}`),
  ];
  const script = `set -e; ${masks.join('; ')}; exec "$@"`;
  return ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', ...argv];
}

/** The flanneld command line (without arguments). */
export function flanneldCommand(): string[] {
  const dir = packagedDir();
  return dir ? withoutNode([join(dir, 'flanneld')]) : [join(REPO_ROOT, 'bin', 'flanneld')];
}

/** The CNI plugin's command line. */
export function flannelCniCommand(): string[] {
  const dir = packagedDir();
  return dir ? withoutNode([join(dir, 'flannel')]) : [join(REPO_ROOT, 'bin', 'flannel')];
}

/** The file the command runs, for existence checks. */
export function commandFile(argv: readonly string[]): string {
  return argv[argv.length - 1] ?? '';
}
