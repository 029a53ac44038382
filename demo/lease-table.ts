/** The demo's table of leases: one row per host. */
import type { DemoHost } from './demo-state.js';

export function formatLeaseTable(hosts: readonly DemoHost[]): string {
  const rows = [['host', 'namespace', 'public IP', 'subnet (lease)', 'MTU'], ...hosts.map((h) => [String(h.host), h.ns, h.publicIP, h.subnet, h.mtu])];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ').trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n') + '\n';
}
