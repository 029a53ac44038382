/**
 * flannelctl status: this host's agent over its health port (-healthz-ip/-healthz-port, or
 * FLANNELD_HEALTHZ_PORT as flanneld takes it): /healthz (alive), /readyz (ready, or why not),
 * /status (lease, backend, peers, last reconcile and rule check, with times) and /metrics
 * (version, counters). Exit 0 when alive and ready, 1 otherwise.
 */
import { commandUsage, parseCommandArgs } from './command-flags.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CtlCommand, type CtlContext } from './ctl-context.js';
import { formatSeconds, renderJSON } from './output.js';
import { parsePromText, samples, value, type Sample } from './prom-text.js';
import { errorMessage } from '../errors.js';

const USAGE = commandUsage('status', ['status [-healthz-port <port>] [-healthz-ip <ip>]'], []);
const TIMEOUT_MS = 5_000;

/** The agent's base URL: 0.0.0.0 / :: / unset (listen on all) are reached on loopback. */
export function agentUrl(ip: string, port: number): string {
  const host = ip === '' || ip === '0.0.0.0' ? '127.0.0.1' : ip === '::' ? '::1' : ip;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

interface Fetched {
  readonly status: number;
  readonly text: string;
}

async function get(url: string, signal: AbortSignal): Promise<Fetched> {
  const res = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(TIMEOUT_MS)]) });
  return { status: res.status, text: await res.text() };
}

/** The agent's /status JSON, when it serves one. */
interface AgentStatusJSON {
  lease?: { subnets?: string[]; expiresAt?: string | null } | null;
  backend?: string | null;
  remoteLeases?: number;
  peersProgrammed?: Record<string, number>;
  reconcile?: { runs?: number; lastAt?: string | null; lastDurationSeconds?: number | null; lastRepairs?: number | null; repairsTotal?: number };
  rules?: { resyncs?: number; lastCheckAt?: string | null; lastRestored?: number | null; restorationsTotal?: number };
}

export const statusCommand: CtlCommand = async (ctx, args, signal) => {
  const p = parseCommandArgs([], args);
  if (p.help) {
    ctx.stdout(USAGE);
    return EXIT_OK;
  }
  if (p.args[0] !== undefined) {
    ctx.stderr(`flannelctl status: unexpected argument ${JSON.stringify(p.args[0])}\n${USAGE}`);
    return EXIT_USAGE;
  }
  const { healthzPort, healthzIp } = ctx.options;
  if (healthzPort === 0) {
    ctx.stderr('flannelctl status: no health port: give the agent\'s -healthz-port (or FLANNELD_HEALTHZ_PORT); flanneld serves /healthz only when started with it\n');
    return EXIT_USAGE;
  }
  const base = agentUrl(healthzIp, healthzPort);
  let healthz: Fetched;
  try {
    healthz = await get(`${base}/healthz`, signal);
  } catch (err) {
    if (signal.aborted) throw err;
    return report(ctx, { url: base, alive: false, error: `${base}/healthz: ${errorMessage((err as { cause?: unknown }).cause ?? err)}` });
  }
  const [readyz, status, metrics] = await Promise.all([
    get(`${base}/readyz`, signal),
    get(`${base}/status`, signal).catch(() => undefined),
    get(`${base}/metrics`, signal).catch(() => undefined),
  ]);
  const parsed: AgentStatusJSON | undefined = status?.status === 200 ? (JSON.parse(status.text) as AgentStatusJSON) : undefined;
  const m = metrics?.status === 200 ? parsePromText(metrics.text) : undefined;
  return report(ctx, {
    url: base,
    alive: healthz.status === 200,
    ready: readyz.status === 200,
    reason: readyz.status === 200 ? null : readyz.text.trim().replace(/^not ready: /, ''),
    ...summary(parsed, m, ctx.now()),
  });
};

/** What status shows, from /status when the agent has it, else from /metrics alone. */
function summary(s: AgentStatusJSON | undefined, m: Sample[] | undefined, nowMs: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (m) {
    const build = samples(m, 'flannel_build_info')[0];
    if (build) out['version'] = build.labels['version'] ?? null;
  }
  if (s) {
    out['lease'] = s.lease ?? null;
    out['backend'] = s.backend ?? null;
    out['remoteLeases'] = s.remoteLeases ?? null;
    out['peersProgrammed'] = s.peersProgrammed ?? {};
    out['reconcile'] = s.reconcile ?? null;
    out['rules'] = s.rules ?? null;
  } else if (m) {
    const subnets = samples(m, 'flannel_lease_held').filter((x) => x.value === 1).map((x) => x.labels['subnet'] ?? '');
    const expiry = value(m, 'flannel_lease_expiry_seconds');
    out['lease'] = subnets.length === 0 ? null : { subnets, expiresAt: expiry === undefined || expiry === 0 ? null : new Date(nowMs + expiry * 1000).toISOString() };
    const peers = samples(m, 'flannel_peers_programmed');
    out['backend'] = peers[0]?.labels['backend'] ?? null;
    out['remoteLeases'] = value(m, 'flannel_remote_leases') ?? null;
    out['peersProgrammed'] = Object.fromEntries(peers.map((x) => [x.labels['family'] ?? '', x.value]));
    out['reconcile'] = { runs: value(m, 'flannel_reconcile_runs_total') ?? 0, repairsTotal: value(m, 'flannel_reconcile_repairs_total') ?? 0 };
    out['rules'] = { resyncs: value(m, 'flannel_rule_resyncs_total') ?? 0, restorationsTotal: value(m, 'flannel_rule_restorations_total') ?? 0 };
  } else {
    out['note'] = 'the agent serves neither /status nor /metrics';
  }
  return out;
}

function report(ctx: CtlContext, r: Record<string, unknown>): number {
  const ok = r['alive'] === true && r['ready'] === true;
  if (ctx.options.output === 'json') {
    ctx.stdout(renderJSON(r));
    return ok ? EXIT_OK : EXIT_FAILURE;
  }
  const now = ctx.now();
  const ago = (iso: unknown) => (typeof iso === 'string' ? `${iso} (${formatSeconds((now - Date.parse(iso)) / 1000)} ago)` : 'never');
  if (r['alive'] !== true) {
    ctx.stdout(`agent      ${String(r['url'])}: not answering (${String(r['error'] ?? 'no /healthz')})\n`);
    return EXIT_FAILURE;
  }
  const rows: string[][] = [];
  rows.push(['agent', `${String(r['url'])}: alive, ${r['ready'] === true ? 'ready' : `not ready: ${String(r['reason'])}`}`]);
  if (typeof r['version'] === 'string') rows.push(['version', r['version']]);
  const lease = r['lease'] as { subnets?: string[]; expiresAt?: string | null } | null | undefined;
  if (lease !== undefined) {
    rows.push([
      'lease',
      lease === null
        ? 'none held'
        : `${(lease.subnets ?? []).join(' + ')}, ${lease.expiresAt ? `expires in ${formatSeconds((Date.parse(lease.expiresAt) - now) / 1000)}` : 'no expiry (reservation or kube)'}`,
    ]);
  }
  if (r['backend'] !== undefined) rows.push(['backend', String(r['backend'] ?? '-')]);
  const peers = r['peersProgrammed'] as Record<string, number> | undefined;
  if (peers !== undefined) {
    const list = Object.entries(peers).map(([f, n]) => `${f} ${n}`).join(', ');
    rows.push(['peers', `${list === '' ? 'none programmed' : `programmed: ${list}`}; remote leases: ${String(r['remoteLeases'] ?? '-')}`]);
  }
  const rec = r['reconcile'] as AgentStatusJSON['reconcile'] | null | undefined;
  if (rec) {
    const last = rec.lastAt !== undefined ? `, last ${ago(rec.lastAt)}${rec.lastDurationSeconds != null ? ` took ${(rec.lastDurationSeconds * 1000).toFixed(1)} ms` : ''}${rec.lastRepairs != null ? `, ${rec.lastRepairs} repairs` : ''}` : '';
    rows.push(['reconcile', `${rec.runs ?? 0} runs${last}; repairs in all: ${rec.repairsTotal ?? 0}`]);
  }
  const rules = r['rules'] as AgentStatusJSON['rules'] | null | undefined;
  if (rules) {
    const last = rules.lastCheckAt !== undefined ? `, last ${ago(rules.lastCheckAt)}${rules.lastRestored != null ? `, ${rules.lastRestored} restored` : ''}` : '';
    rows.push(['rules', `${rules.resyncs ?? 0} checks${last}; restored in all: ${rules.restorationsTotal ?? 0}${rules.resyncs === 0 ? ' (no checks: no -ip-masq/-iptables-forward-rules, or not started yet)' : ''}`]);
  }
  if (typeof r['note'] === 'string') rows.push(['note', r['note']]);
  ctx.stdout(rows.map(([k, v]) => `${(k ?? '').padEnd(10)} ${v ?? ''}`).join('\n') + '\n');
  return r['ready'] === true ? EXIT_OK : EXIT_FAILURE;
}
