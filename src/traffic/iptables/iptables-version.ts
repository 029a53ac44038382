/** What the installed iptables can do, from `iptables --version` ("iptables v1.8.9 (nf_tables)"). */
export interface IptablesVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** "nf_tables" or "legacy" when printed. */
  readonly backend: string | undefined;
}

export function parseIptablesVersion(text: string): IptablesVersion | undefined {
  const m = /v(\d+)\.(\d+)\.(\d+)(?:\s+\(([\w-]+)\))?/.exec(text);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), backend: m[4] };
}

function atLeast(v: IptablesVersion, major: number, minor: number, patch: number): boolean {
  if (v.major !== major) return v.major > major;
  if (v.minor !== minor) return v.minor > minor;
  return v.patch >= patch;
}

/** MASQUERADE --random-fully came with iptables 1.6.2 (as go-iptables' HasRandomFully decides). */
export function hasRandomFully(v: IptablesVersion | undefined): boolean {
  return v !== undefined && atLeast(v, 1, 6, 2);
}

/** iptables-restore --wait came with 1.6.2 (flannel's ipTablesHasWaitSupport). */
export function hasRestoreWait(v: IptablesVersion | undefined): boolean {
  return v !== undefined && atLeast(v, 1, 6, 2);
}
