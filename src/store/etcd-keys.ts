// Where the etcd store keeps each record, under its prefix (`/cutover` by default; the client adds it):
//
//   apps/<name>                             the AppRecord as JSON; the key's mod_revision is the record's revision
//   deployments/<id>                        the DeploymentRecord as JSON
//   deployments-of/<app>/<createdAt>/<id>   → the id: one app's deployments in time order
//   open-deployments/<id>                   the DeploymentRecord again, while it is not in a terminal phase
//   audit/all/<at>/<unique>                 the AuditRecord as JSON
//   audit/of/<app>/<at>/<unique>            the same entry again, in its app's trail
//
// Times are zero-padded so that etcd's byte order of keys is their numeric order. Records of the same millisecond
// are ordered by their key's create_revision, the order etcd committed them in; that needs no counter, so writers
// never contend for one. Names and ids are URI-encoded, so that a "/" in one cannot change a key's shape.

const DIGITS = 16;

export const APPS = 'apps/';
export const OPEN_DEPLOYMENTS = 'open-deployments/';
export const AUDIT = 'audit/all/';

export function appKey(name: string): string {
  return `${APPS}${encodeURIComponent(name)}`;
}

export function deploymentKey(id: string): string {
  return `deployments/${encodeURIComponent(id)}`;
}

export function openDeploymentKey(id: string): string {
  return `${OPEN_DEPLOYMENTS}${encodeURIComponent(id)}`;
}

/** The prefix of one app's deployment index. */
export function deploymentsOf(app: string): string {
  return `deployments-of/${encodeURIComponent(app)}/`;
}

export function deploymentIndexKey(deployment: { app: string; createdAt: number; id: string }): string {
  return `${deploymentsOf(deployment.app)}${padded(deployment.createdAt)}/${encodeURIComponent(deployment.id)}`;
}

export function auditOf(app: string): string {
  return `audit/of/${encodeURIComponent(app)}/`;
}

/** `prefix` is AUDIT or auditOf(app); `unique` tells apart the entries of one millisecond. */
export function auditKey(prefix: string, at: number, unique: string): string {
  return `${prefix}${padded(at)}/${unique}`;
}

/** The part of an index or audit key before its last segment: the records of one millisecond share it. */
export function timeGroup(key: string): string {
  return key.slice(0, key.lastIndexOf('/') + 1);
}

// Negative or fractional times do not occur (they are Date.now() values); clamping keeps the key's shape anyway.
function padded(n: number): string {
  return String(Math.max(0, Math.floor(n))).padStart(DIGITS, '0');
}
