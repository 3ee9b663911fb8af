// Errors of clusters, host lists and balancers. Each class has a stable `code` that callers (the config
// loader, the admin API, the CLI) match on; messages name the cluster and the field at fault.

import { SwitchyardError } from "../util/coded-error.js";

/** Base of every cluster error: `code` is stable, the message is for people. */
export class ClusterError extends SwitchyardError {}

/** One host spec of a cluster update is malformed. `index` is its position in the update, `field` the bad field. */
export class HostSpecError extends ClusterError {
  readonly cluster: string;
  readonly index: number;
  readonly field: string;
  constructor(cluster: string, index: number, field: string, problem: string) {
    super("E_HOST_INVALID", `cluster "${cluster}": hosts[${index}].${field}: ${problem}`);
    this.cluster = cluster;
    this.index = index;
    this.field = field;
  }
}

/** Two host specs of one update have the same address. */
export class DuplicateHostError extends ClusterError {
  readonly cluster: string;
  readonly index: number;
  readonly field = "address";
  constructor(cluster: string, index: number, address: string, firstIndex: number) {
    super("E_HOST_DUPLICATE", `cluster "${cluster}": hosts[${index}].address: "${address}" already given at hosts[${firstIndex}]`);
    this.cluster = cluster;
    this.index = index;
  }
}

/** An update has more hosts than the ABI's host table can carry. */
export class TooManyHostsError extends ClusterError {
  readonly cluster: string;
  constructor(cluster: string, count: number, max: number) {
    super("E_CLUSTER_TOO_MANY_HOSTS", `cluster "${cluster}": ${count} hosts, at most ${max} allowed`);
    this.cluster = cluster;
  }
}

/** A cluster setting (name, lb policy, fallback, hash header, …) is malformed. */
export class ClusterConfigError extends ClusterError {
  readonly cluster: string;
  readonly field: string;
  constructor(cluster: string, field: string, problem: string) {
    super("E_CLUSTER_INVALID", `cluster "${cluster}": ${field}: ${problem}`);
    this.cluster = cluster;
    this.field = field;
  }
}

export class ClusterNotFoundError extends ClusterError {
  readonly cluster: string;
  constructor(cluster: string) {
    super("E_CLUSTER_NOT_FOUND", `cluster "${cluster}" does not exist`);
    this.cluster = cluster;
  }
}

export class ClusterExistsError extends ClusterError {
  readonly cluster: string;
  constructor(cluster: string) {
    super("E_CLUSTER_EXISTS", `cluster "${cluster}" already exists`);
    this.cluster = cluster;
  }
}

/** createBalancer was given a policy name it does not know. */
export class UnknownBalancerError extends ClusterError {
  readonly policy: string;
  constructor(policy: string, known: readonly string[]) {
    super("E_LB_UNKNOWN", `unknown load-balancing policy "${policy}"; known: ${known.join(", ")}`);
    this.policy = policy;
  }
}

/** A balancer option (hash replicas, maglev table size, …) is out of range. */
export class BalancerOptionError extends ClusterError {
  readonly option: string;
  constructor(option: string, problem: string) {
    super("E_LB_OPTION", `load-balancer option ${option}: ${problem}`);
    this.option = option;
  }
}

/** waitForAvailable reached its deadline with no Available host (yarpc's Chooser timing out). */
export class NoAvailableHostError extends ClusterError {
  readonly cluster: string;
  constructor(cluster: string, waitedMs: number) {
    super("E_NO_AVAILABLE_HOST", `cluster "${cluster}": no host became available within ${waitedMs} ms`);
    this.cluster = cluster;
  }
}

/** Outlier detection settings out of range. */
export class OutlierConfigError extends ClusterError {
  readonly field: string;
  constructor(field: string, problem: string) {
    super("E_OUTLIER_INVALID", `outlier detection: ${field}: ${problem}`);
    this.field = field;
  }
}

/** Active health check settings out of range. */
export class HealthCheckConfigError extends ClusterError {
  readonly field: string;
  constructor(field: string, problem: string) {
    super("E_HEALTH_CHECK_INVALID", `health check: ${field}: ${problem}`);
    this.field = field;
  }
}

/** The cluster was removed from its manager; its host list no longer changes. */
export class ClusterClosedError extends ClusterError {
  readonly cluster: string;
  constructor(cluster: string) {
    super("E_CLUSTER_CLOSED", `cluster "${cluster}" was removed`);
    this.cluster = cluster;
  }
}
