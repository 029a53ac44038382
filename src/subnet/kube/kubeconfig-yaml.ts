/**
 * YAML for kubeconfig files: the `yaml` package (YAML 1.2, core schema, duplicate keys
 * refused), imported only when a kubeconfig is not JSON, so that in-cluster and JSON
 * configurations never load it.
 */
export async function parseKubeconfigYaml(text: string): Promise<unknown> {
  const { parse } = await import('yaml');
  return parse(text) as unknown;
}
