/**
 * Request attributes as the API server's authorizer sees them ("Review your request
 * attributes", https://kubernetes.io/docs/reference/access-authn-authz/authorization/): the
 * verb (get, list, watch, create, update, patch, delete) from the HTTP method and the
 * `watch` parameter, the resource and subresource ("nodes/status") from the path.
 */
export interface RequestInfo {
  readonly verb: string;
  /** "nodes", "nodes/status", "pods", or the path for anything else. */
  readonly resource: string;
  readonly name: string;
  readonly namespace: string;
}

const VERBS: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

export function classify(method: string, url: URL): RequestInfo {
  const parts = url.pathname.split('/').filter((p) => p !== '');
  // /api/v1[/namespaces/{ns}]/{resource}[/{name}[/{subresource}]]
  let rest = parts[0] === 'api' && parts[1] === 'v1' ? parts.slice(2) : [];
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1] ?? '';
    rest = rest.slice(2);
  }
  const [resource = url.pathname, name = '', sub] = rest;
  let verb = VERBS[method] ?? 'get';
  if (method === 'GET' && name === '') verb = url.searchParams.get('watch') === 'true' ? 'watch' : 'list';
  return { verb, resource: sub ? `${resource}/${sub}` : resource, name, namespace };
}

/** A metav1.Status failure body. */
export function statusBody(code: number, reason: string, message: string, details?: { name?: string; kind?: string }) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}
