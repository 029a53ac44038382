/**
 * The two patch formats the stand-in API server accepts for Nodes:
 *
 * - JSON merge patch, RFC 7386 (Content-Type application/merge-patch+json): objects merge
 *   recursively, `null` deletes a key, anything else (lists included) replaces.
 * - Strategic merge patch (application/strategic-merge-patch+json), as described in
 *   "Update API Objects in Place Using kubectl patch"
 *   (https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/)
 *   and sig-api-machinery's strategic-merge-patch.md: like a merge patch, but lists whose Go
 *   field carries `patchStrategy:"merge"` merge: lists of objects by their `patchMergeKey`
 *   (Node: status.conditions and status.addresses by "type", metadata.ownerReferences by "uid"),
 *   lists of scalars as a union (spec.podCIDRs, metadata.finalizers). Directives: `$patch:
 *   replace|delete` in a map, `$patch: delete` in a merged list item, `$setElementOrder/<list>`,
 *   `$deleteFromPrimitiveList/<list>`; `$retainKeys` is ignored.
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function clone<T>(v: T): T {
  return structuredClone(v);
}

export function jsonMergePatch(target: Json, patch: Json): Json {
  if (!isObj(patch)) return clone(patch);
  const out: Obj = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = jsonMergePatch(out[k] ?? null, v);
  }
  return out;
}

/** Merge keys of the Node fields whose patch strategy is "merge" (k8s.io/api/core/v1). */
const NODE_MERGE_KEYS: Record<string, string> = {
  'status.conditions': 'type',
  'status.addresses': 'type',
  'metadata.ownerReferences': 'uid',
};
const NODE_PRIMITIVE_MERGE = new Set(['spec.podCIDRs', 'metadata.finalizers']);

export function strategicMergePatch(target: Json, patch: Json, path = ''): Json {
  if (!isObj(patch)) return clone(patch);
  if (patch['$patch'] === 'replace') {
    const { $patch: _p, ...rest } = patch;
    return clone(rest);
  }
  if (patch['$patch'] === 'delete') return null;
  const out: Obj = isObj(target) ? { ...target } : {};
  const orders = new Map<string, Json[]>();
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$retainKeys' || k === '$patch') continue;
    if (k.startsWith('$setElementOrder/')) {
      if (Array.isArray(v)) orders.set(k.slice('$setElementOrder/'.length), v);
      continue;
    }
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const cur = out[field];
      if (Array.isArray(cur) && Array.isArray(v)) out[field] = cur.filter((x) => !v.includes(x));
      continue;
    }
    const sub = path ? `${path}.${k}` : k;
    if (v === null) {
      delete out[k];
    } else if (Array.isArray(v) && NODE_MERGE_KEYS[sub]) {
      out[k] = mergeByKey(Array.isArray(out[k]) ? (out[k] as Json[]) : [], v, NODE_MERGE_KEYS[sub], sub);
    } else if (Array.isArray(v) && NODE_PRIMITIVE_MERGE.has(sub)) {
      const cur = Array.isArray(out[k]) ? (out[k] as Json[]) : [];
      out[k] = [...cur, ...v.filter((x) => !cur.includes(x))];
    } else if (isObj(v)) {
      const merged = strategicMergePatch(out[k] ?? null, v, sub);
      if (merged === null) delete out[k];
      else out[k] = merged;
    } else {
      out[k] = clone(v);
    }
  }
  for (const [field, order] of orders) {
    const list = out[field];
    const key = NODE_MERGE_KEYS[path ? `${path}.${field}` : field];
    if (!Array.isArray(list)) continue;
    const id = (x: Json) => (key && isObj(x) ? x[key] : x);
    const rank = (x: Json) => {
      const i = order.findIndex((o) => (key && isObj(o) ? o[key] : o) === id(x));
      return i < 0 ? order.length : i;
    };
    out[field] = [...list].sort((a, b) => rank(a) - rank(b));
  }
  return out;
}

function mergeByKey(current: Json[], patch: Json[], key: string, path: string): Json[] {
  const out = [...current];
  for (const item of patch) {
    if (!isObj(item)) continue;
    const i = out.findIndex((x) => isObj(x) && x[key] === item[key]);
    if (item['$patch'] === 'delete') {
      if (i >= 0) out.splice(i, 1);
      continue;
    }
    if (i >= 0) out[i] = strategicMergePatch(out[i] ?? null, item, path);
    else out.push(strategicMergePatch(null, item, path));
  }
  return out;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
