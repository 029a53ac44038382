/**
 * Reading `nft -j list ...` output back into the rule text the renderer produces, so that the
 * wanted and the actual chains compare as strings. Only the expressions flannel uses are
 * understood; anything else renders as `?<json>` and so never compares equal.
 */
import type { NftChainSpec, NftTable } from './nft-rules.js';

export interface ListedChain {
  readonly type: string | undefined;
  readonly hook: string | undefined;
  readonly prio: number | undefined;
  readonly rules: string[];
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function items(text: string): Json[] {
  const doc: unknown = JSON.parse(text);
  const list = isObject(doc) ? doc.nftables : undefined;
  return Array.isArray(list) ? list.filter(isObject) : [];
}

/** Tables named in `nft -j list tables` output. */
export function parseNftTables(text: string): NftTable[] {
  const out: NftTable[] = [];
  for (const item of items(text)) {
    const t = item.table;
    if (isObject(t) && (t.family === 'ip' || t.family === 'ip6') && typeof t.name === 'string') {
      out.push({ family: t.family, name: t.name });
    }
  }
  return out;
}

/** Chains and their rules (as text) from `nft -j list table <family> <name>` output. */
export function parseNftTable(text: string): Map<string, ListedChain> {
  const chains = new Map<string, ListedChain>();
  for (const item of items(text)) {
    const c = item.chain;
    if (isObject(c) && typeof c.name === 'string') {
      chains.set(c.name, {
        type: typeof c.type === 'string' ? c.type : undefined,
        hook: typeof c.hook === 'string' ? c.hook : undefined,
        prio: typeof c.prio === 'number' ? c.prio : undefined,
        rules: [],
      });
    }
  }
  for (const item of items(text)) {
    const r = item.rule;
    if (!isObject(r) || typeof r.chain !== 'string') continue;
    const exprs = Array.isArray(r.expr) ? r.expr : [];
    chains.get(r.chain)?.rules.push(exprs.map(describeExpr).join(' '));
  }
  return chains;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function describeOperand(v: unknown, hexNumbers: boolean): string {
  if (typeof v === 'number') return hexNumbers ? hex(v) : String(v);
  if (typeof v === 'string') {
    // A single address (nft prints a /32 or /128 prefix as the bare address).
    if (/^[0-9.]+$/.test(v)) return `${v}/32`;
    if (v.includes(':')) return `${v}/128`;
    return v;
  }
  if (isObject(v)) {
    const p = v.prefix;
    if (isObject(p) && typeof p.addr === 'string' && typeof p.len === 'number') return `${p.addr}/${p.len}`;
    const payload = v.payload;
    if (isObject(payload) && typeof payload.protocol === 'string' && typeof payload.field === 'string') {
      return `${payload.protocol} ${payload.field}`;
    }
    const meta = v.meta;
    if (isObject(meta) && typeof meta.key === 'string') return `meta ${meta.key}`;
    const and = v['&'];
    if (Array.isArray(and) && and.length === 2) return `${describeOperand(and[0], true)} & ${describeOperand(and[1], true)}`;
  }
  return `?${JSON.stringify(v)}`;
}

/** One statement of a rule, as the renderer writes it. */
export function describeExpr(e: unknown): string {
  if (!isObject(e)) return `?${JSON.stringify(e)}`;
  const keys = Object.keys(e);
  const key = keys.length === 1 ? keys[0] : undefined;
  if (key === 'match') {
    const m = e.match;
    if (!isObject(m) || typeof m.op !== 'string') return `?${JSON.stringify(e)}`;
    const masked = isObject(m.left) && '&' in m.left;
    const metaLeft = isObject(m.left) && ('meta' in m.left || masked);
    const left = describeOperand(m.left, true);
    const right = describeOperand(m.right, metaLeft);
    // nft leaves out `==` for plain matches; with a mask it is written out.
    const op = m.op === '==' && !masked ? '' : `${m.op} `;
    return `${left} ${op}${right}`;
  }
  if (key === 'return' || key === 'accept' || key === 'drop') return key;
  if (key === 'masquerade') {
    const flags = isObject(e.masquerade) ? e.masquerade.flags : undefined;
    const list = typeof flags === 'string' ? [flags] : Array.isArray(flags) ? flags.map(String) : [];
    return ['masquerade', ...list].join(' ');
  }
  return `?${JSON.stringify(e)}`;
}

/** Whether the listed chain is exactly the wanted one (hook, type, priority, rules in order). */
export function chainMatches(want: NftChainSpec, have: ListedChain | undefined): boolean {
  if (!have) return false;
  if (have.type !== want.type || have.hook !== want.hook || have.prio !== want.priorityValue) return false;
  return have.rules.length === want.rules.length && have.rules.every((r, i) => r === want.rules[i]);
}
