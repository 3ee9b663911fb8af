// What a cluster may be named: one rule for the config reader (`switchyard check` and `run` alike) and for the
// cluster settings the host builds, so that check can never accept a name that run refuses (issue 18).
// Istio's and MOSN's generated names ("outbound|80||svc.default.svc.cluster.local") are accepted.

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:|-]{0,254}$/;

/** Why `name` is not a cluster name, or null when it is one. */
export function clusterNameProblem(name: string): string | null {
  return NAME.test(name) ? null : `expected 1..255 letters, digits, '_', '.', ':', '|' or '-', starting with a letter or digit, got ${JSON.stringify(name.slice(0, 80))}`;
}
