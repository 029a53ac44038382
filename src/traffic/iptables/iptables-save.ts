/**
 * Reading iptables-save output, and planning (purely) the iptables-restore input that brings it
 * to the wanted state: our chains replaced as a whole when they differ, exactly one jump into
 * each, and for cleanup every rule of ours removed and our chains deleted.
 */
import type { ChainSpec, IptablesTable } from './iptables-rules.js';
import { OWN_CHAINS, renderRestore, ruleLine } from './iptables-rules.js';

export interface SavedTable {
  /** Every chain declared in the table (built-in and user). */
  readonly chains: Set<string>;
  /** Rule lines per chain, in order, exactly as printed ("-A CHAIN ..."). */
  readonly rules: Map<string, string[]>;
}

export type SavedTables = Map<string, SavedTable>;

/** Parses iptables-save (or ip6tables-save) output; comments and unknown lines are skipped. */
export function parseIptablesSave(text: string): SavedTables {
  const tables: SavedTables = new Map();
  let current: SavedTable | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line.startsWith('*')) {
      current = { chains: new Set(), rules: new Map() };
      tables.set(line.slice(1), current);
    } else if (!current) {
      continue;
    } else if (line.startsWith(':')) {
      const name = line.slice(1).split(' ')[0];
      if (name) current.chains.add(name);
    } else if (line.startsWith('-A ')) {
      const chain = line.split(' ')[1] ?? '';
      const list = current.rules.get(chain) ?? [];
      list.push(line);
      current.rules.set(chain, list);
    } else if (line === 'COMMIT') {
      current = undefined;
    }
  }
  return tables;
}

/** Splits a saved rule line into arguments, honouring double quotes and backslash escapes. */
export function splitRuleLine(line: string): string[] {
  const args: string[] = [];
  let cur = '';
  let inArg = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (quoted) {
      if (ch === '\\' && i + 1 < line.length) cur += line[++i];
      else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') {
      quoted = true;
      inArg = true;
    } else if (ch === ' ' || ch === '\t') {
      if (inArg) args.push(cur);
      cur = '';
      inArg = false;
    } else {
      cur += ch;
      inArg = true;
    }
  }
  if (inArg) args.push(cur);
  return args;
}

/** How one of our chains differs from what is wanted; empty when it is right. */
export interface ChainDrift {
  readonly spec: ChainSpec;
  /** The chain is missing or its rules differ (order included). */
  readonly rewriteChain: boolean;
  /** How many jumps into the chain the built-in chain holds (wanted: exactly 1). */
  readonly jumps: number;
}

export function chainDrift(spec: ChainSpec, saved: SavedTables): ChainDrift {
  const table = saved.get(spec.table);
  const want = spec.rules.map((r) => ruleLine(r));
  const have = table?.rules.get(spec.chain) ?? [];
  const rewriteChain = !table?.chains.has(spec.chain) || have.length !== want.length || have.some((l, i) => l !== want[i]);
  const jumpLine = ruleLine(spec.jump);
  const jumps = (table?.rules.get(spec.jump.chain) ?? []).filter((l) => l === jumpLine).length;
  return { spec, rewriteChain, jumps };
}

export function isDrifted(d: ChainDrift): boolean {
  return d.rewriteChain || d.jumps !== 1;
}

/**
 * The iptables-restore --noflush input that repairs the given drifts, or '' when nothing is
 * needed. A declared user chain (`:FLANNEL-POSTRTG - [0:0]`) is flushed by iptables-restore,
 * so the chain is rewritten as a whole in one transaction; the jump is appended when missing
 * and extra copies are deleted, so repeated ensures never duplicate it.
 */
export function planRepair(drifts: readonly ChainDrift[]): string {
  const blocks = new Map<IptablesTable, string[]>();
  const decl = new Map<IptablesTable, string[]>();
  for (const d of drifts) {
    if (!isDrifted(d)) continue;
    const { spec } = d;
    const lines = blocks.get(spec.table) ?? [];
    const heads = decl.get(spec.table) ?? [];
    if (d.rewriteChain) {
      heads.push(`:${spec.chain} - [0:0]`);
      lines.push(...spec.rules.map((r) => ruleLine(r)));
    }
    if (d.jumps === 0) lines.push(ruleLine(spec.jump));
    for (let i = 1; i < d.jumps; i++) lines.push(ruleLine(spec.jump, '-D'));
    blocks.set(spec.table, lines);
    decl.set(spec.table, heads);
  }
  const merged = new Map<IptablesTable, string[]>();
  for (const [table, lines] of blocks) merged.set(table, [...(decl.get(table) ?? []), ...lines]);
  return renderRestore(merged);
}

/**
 * The iptables-restore --noflush input that removes everything of ours, or '' when nothing is
 * there: every rule carrying our comment or jumping to our chains (in any chain, so also the
 * rules older flannel versions put straight into POSTROUTING/FORWARD), then our chains.
 */
export function planCleanup(saved: SavedTables): string {
  const blocks = new Map<IptablesTable, string[]>();
  for (const table of ['nat', 'filter'] as const) {
    const t = saved.get(table);
    if (!t) continue;
    const own = OWN_CHAINS.filter((c) => c.table === table);
    const ownNames = new Set(own.map((c) => c.chain));
    const comments = new Set(OWN_CHAINS.map((c) => c.comment));
    const lines: string[] = [];
    for (const [chain, rules] of t.rules) {
      if (ownNames.has(chain)) continue;
      for (const line of rules) {
        const args = splitRuleLine(line);
        const target = args[args.indexOf('-j') + 1];
        const commentArg = args.indexOf('--comment');
        const ours = (target !== undefined && args.includes('-j') && ownNames.has(target)) || (commentArg >= 0 && comments.has(args[commentArg + 1] ?? ''));
        if (ours) lines.push(`-D ${line.slice(3)}`);
      }
    }
    for (const c of own) {
      if (!t.chains.has(c.chain)) continue;
      lines.push(`-F ${c.chain}`, `-X ${c.chain}`);
    }
    blocks.set(table, lines);
  }
  return renderRestore(blocks);
}
