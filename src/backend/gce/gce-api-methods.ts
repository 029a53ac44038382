/**
 * Exactly the Compute Engine API methods the gce backend calls, with the IAM permissions each
 * needs (Compute Engine API reference, "IAM Permissions" of each method page). The README's
 * gce section lists the same; a unit test checks the two agree. Kept free of the SDK so that
 * the README check and the docs never load it.
 */
export const GCE_API_METHODS = Object.freeze({
  /** Discovery: this instance's selfLink, the route's next hop. */
  'compute.instances.get': ['compute.instances.get'],
  /** Discovery: the network's selfLink (and that it exists). */
  'compute.networks.get': ['compute.networks.get'],
  /** The table: every route of the project, filtered to the network. */
  'compute.routes.list': ['compute.routes.list'],
  /** Put: is the route already there, with this instance as next hop? */
  'compute.routes.get': ['compute.routes.get'],
  /** Put: the route `subnet -> this instance`. */
  'compute.routes.insert': ['compute.routes.create', 'compute.networks.updatePolicy'],
  /** Replace and remove. */
  'compute.routes.delete': ['compute.routes.delete', 'compute.networks.updatePolicy'],
  /** Insert and delete return global Operations; the backend waits for each to be DONE. */
  'compute.globalOperations.wait': ['compute.globalOperations.get'],
} as const satisfies Record<string, readonly string[]>);

export type GceApiMethod = keyof typeof GCE_API_METHODS;

/** The OAuth scope the instance's service account needs (`cloud-platform` also covers it). */
export const GCE_OAUTH_SCOPE = 'https://www.googleapis.com/auth/compute';

/** Every IAM permission of GCE_API_METHODS, sorted, without duplicates (a custom role's list). */
export function gceIamPermissions(): string[] {
  return [...new Set(Object.values(GCE_API_METHODS).flat())].sort();
}
