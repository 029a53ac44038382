/**
 * flannelctl leases: every lease in the store, with subnet(s), public IP(s), backend, backend
 * data (VTEP MAC, WireGuard key, ...) and expiry. flannelctl leases gc -older-than <duration>
 * [-apply]: the leases of hosts gone for longer than that (rule in lease-gc.ts), listed (dry
 * run) or removed (-apply).
 */
import { flagBool, flagNumber, invalidValueError, type FlagSpec } from '../cli/flag-parser.js';
import { formatGoDuration } from '../cli/go-values.js';
import { errorMessage } from '../errors.js';
import { commandUsage, parseCommandArgs } from './command-flags.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CtlCommand, type CtlContext } from './ctl-context.js';
import { gcCandidates } from './lease-gc.js';
import { LEASE_HEADERS, leaseJSON, leaseRow, sortLeases } from './lease-view.js';
import { formatSeconds, renderJSON, renderTable } from './output.js';

const GC_FLAGS: readonly FlagSpec[] = [
  { name: 'older-than', kind: 'duration', default: 0, help: 'collect the leases of hosts gone for longer than this (Go duration: 90m, 2h, 36h); required' },
  { name: 'apply', kind: 'bool', default: false, help: 'remove them (etcd: delete the key and revoke its etcd lease; kube: remove flannel\'s node annotations); without it, only list them' },
];

const USAGE = commandUsage('leases', ['leases', 'leases gc -older-than <duration> [-apply]'], []);
const GC_USAGE = commandUsage('leases gc', ['leases gc -older-than <duration> [-apply]'], GC_FLAGS);

export const leasesCommand: CtlCommand = async (ctx, args, signal) => {
  if (args[0] === 'gc') return leasesGc(ctx, args.slice(1), signal);
  const p = parseCommandArgs([], args);
  if (p.help) {
    ctx.stdout(USAGE + GC_USAGE.replace(/^Usage: flannelctl [^\n]*\n/, ''));
    return EXIT_OK;
  }
  if (p.args[0] !== undefined) {
    ctx.stderr(`flannelctl leases: unknown action ${JSON.stringify(p.args[0])} (only gc)\n${USAGE}`);
    return EXIT_USAGE;
  }
  const store = await ctx.store(signal);
  const { leases, skipped } = await store.listLeases(signal);
  const sorted = sortLeases(leases);
  const now = ctx.now();
  if (ctx.options.output === 'json') {
    ctx.stdout(renderJSON({ store: store.kind, leases: sorted.map((l) => leaseJSON(l, now)), skipped }));
    return EXIT_OK;
  }
  ctx.stdout(renderTable(LEASE_HEADERS, sorted.map(leaseRow)));
  ctx.stdout(`${sorted.length} lease${sorted.length === 1 ? '' : 's'} in ${store.kind} (${store.where})\n`);
  for (const s of skipped) ctx.stdout(`not a lease: ${s.node}: ${s.reason}\n`);
  return EXIT_OK;
};

async function leasesGc(ctx: CtlContext, args: readonly string[], signal: AbortSignal): Promise<number> {
  const p = parseCommandArgs(GC_FLAGS, args);
  if (p.help) {
    ctx.stdout(GC_USAGE);
    return EXIT_OK;
  }
  if (p.args[0] !== undefined) {
    ctx.stderr(`flannelctl leases gc: unexpected argument ${JSON.stringify(p.args[0])}\n${GC_USAGE}`);
    return EXIT_USAGE;
  }
  const olderThanMs = flagNumber(p, 'older-than');
  if (p.origins.get('older-than')?.source !== 'argv') {
    ctx.stderr(`flannelctl leases gc: -older-than is required (e.g. -older-than 2h)\n${GC_USAGE}`);
    return EXIT_USAGE;
  }
  if (olderThanMs <= 0) throw invalidValueError('older-than', p.origins.get('older-than'), p.origins.get('older-than')?.raw ?? formatGoDuration(olderThanMs), 'must be longer than 0s');
  const apply = flagBool(p, 'apply');
  const store = await ctx.store(signal);
  const { leases } = await store.listLeases(signal);
  const now = ctx.now();
  const candidates = gcCandidates(sortLeases(leases), { olderThanSeconds: olderThanMs / 1000, renewMarginSeconds: ctx.options.renewMarginMin * 60, nowMs: now });
  const results: { removed: boolean | undefined; error?: string }[] = [];
  let failures = 0;
  for (const c of candidates) {
    if (!apply) {
      results.push({ removed: undefined });
      continue;
    }
    try {
      const removed = await store.removeLease(c.lease, signal);
      results.push({ removed });
    } catch (err) {
      if (signal.aborted) throw err;
      failures++;
      results.push({ removed: false, error: errorMessage(err) });
    }
  }
  if (ctx.options.output === 'json') {
    ctx.stdout(
      renderJSON({
        store: store.kind,
        dryRun: !apply,
        olderThanSeconds: olderThanMs / 1000,
        candidates: candidates.map((c, i) => ({
          ...leaseJSON(c.lease, now),
          goneForSeconds: c.goneForSeconds,
          reason: c.reason,
          removed: results[i]?.removed ?? false,
          ...(results[i]?.error !== undefined ? { error: results[i]?.error } : {}),
        })),
      }),
    );
  } else {
    const action = (i: number) => {
      const r = results[i];
      if (!apply || r === undefined) return 'would remove';
      if (r.error !== undefined) return `failed: ${r.error}`;
      return r.removed ? 'removed' : 'changed meanwhile, kept';
    };
    const rows = candidates.map((c, i) => [
      c.lease.lease.subnet?.toString() ?? c.lease.lease.ipv6Subnet?.toString() ?? '-',
      c.lease.lease.attrs.publicIP?.toString() ?? c.lease.lease.attrs.publicIPv6?.toString() ?? '-',
      c.lease.node ?? c.lease.key,
      formatSeconds(c.goneForSeconds),
      c.reason,
      action(i),
    ]);
    if (rows.length > 0) ctx.stdout(renderTable(['SUBNET', 'PUBLIC IP', 'HOST', 'GONE FOR', 'WHY', 'ACTION'], rows));
    const scope = `of ${leases.length} lease${leases.length === 1 ? '' : 's'}, gone for longer than ${formatGoDuration(olderThanMs)}`;
    ctx.stdout(
      candidates.length === 0
        ? `nothing to collect (${scope})\n`
        : apply
          ? `${results.filter((r) => r.removed === true).length} removed (${scope})\n`
          : `${candidates.length} would be removed (${scope}); run again with -apply to remove them\n`,
    );
  }
  return failures > 0 ? EXIT_FAILURE : EXIT_OK;
}
