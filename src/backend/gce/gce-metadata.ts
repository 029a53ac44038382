import { translateGceError } from './gce-errors.js';

/** What the metadata server tells about this instance (flannel's backend/gce/metadata.go read the same). */
export interface GceInstanceMetadata {
  readonly project: string;
  readonly zone: string;
  readonly instance: string;
  /** The network of nic0, by name. */
  readonly network: string;
}

/**
 * Reads this instance's identity from the metadata server through gcp-metadata, the SDK's own
 * client (it honours GCE_METADATA_HOST / GCE_METADATA_IP and sends `Metadata-Flavor: Google`).
 * Keys (https://cloud.google.com/compute/docs/metadata/predefined-metadata-keys):
 * `project/project-id`; `instance/name`; `instance/zone` = "projects/NUMBER/zones/ZONE";
 * `instance/network-interfaces/0/network` = "projects/NUMBER/networks/NAME". flannel took the
 * instance name from `instance/hostname` up to the first dot; `instance/name` is the name
 * itself, also with a custom hostname.
 * Loaded only by the gce backend (gcp-metadata comes with @google-cloud/compute's auth library).
 */
export async function readInstanceMetadata(need: { project: boolean; network: boolean }): Promise<GceInstanceMetadata> {
  const md = await import('gcp-metadata');
  const get = async (kind: 'project' | 'instance', key: string): Promise<string> => {
    try {
      const v: unknown = kind === 'project' ? await md.project(key) : await md.instance(key);
      return String(v).trim();
    } catch (err) {
      throw translateGceError(err, `metadata server ${kind}/${key}`);
    }
  };
  const [project, zone, instance, network] = await Promise.all([
    need.project ? get('project', 'project-id') : Promise.resolve(''),
    get('instance', 'zone'),
    get('instance', 'name'),
    need.network ? get('instance', 'network-interfaces/0/network') : Promise.resolve(''),
  ]);
  return { project, zone: lastSegment(zone), instance, network: lastSegment(network) };
}

function lastSegment(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
