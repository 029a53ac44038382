/**
 * What this build is: the version `-version` prints and the agent logs at start. The packaged
 * executables (scripts/package.mjs) have it stamped in at build time through esbuild's `define`
 * (`__FLANNEL_TS_BUILD__`): the package version, the git commit and the embedded Node.js. Run
 * from the repository (bin/flanneld on the machine's node), it is read from package.json.
 */
import { readFileSync } from 'node:fs';

export interface BuildInfo {
  readonly version: string;
  /** Short git commit of the build, when known. */
  readonly commit?: string;
  /** "packaged" for the single executables, "source" when run from the repository. */
  readonly kind: 'packaged' | 'source';
}

declare const __FLANNEL_TS_BUILD__: { version: string; commit?: string } | undefined;

/** The build facts (cheap; reads package.json at most once per call from source). */
export function buildInfo(): BuildInfo {
  if (typeof __FLANNEL_TS_BUILD__ !== 'undefined') return { ...__FLANNEL_TS_BUILD__, kind: 'packaged' };
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return { version: pkg.version ?? 'unknown', kind: 'source' };
  } catch {
    return { version: 'unknown', kind: 'source' };
  }
}

/** "0.1.0 (git 1a2b3c4, node v24.22.3, linux-x64)": the line `flanneld -version` prints. */
export function versionLine(info: BuildInfo = buildInfo()): string {
  const parts = [info.commit ? `git ${info.commit}` : info.kind, `node ${process.version}`, `${process.platform}-${process.arch}`];
  return `${info.version} (${parts.join(', ')})`;
}
