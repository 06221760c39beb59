// Where the instances of one fleet meet in etcd, under the same prefix as the store's records (etcd-keys.ts):
//
//   instances/<id>   the InstanceRecord as JSON, under the instance's lease: listed while it lives
//   leaders/<app>    the id of the instance that runs the app's control operations, under that instance's lease
//
// A key under a lease disappears when the lease runs out, so a dead instance drops out of the list and out of its
// elections without anyone cleaning up after it.

export const INSTANCES = 'instances/';
export const LEADERS = 'leaders/';

export function instanceKey(id: string): string {
  return `${INSTANCES}${encodeURIComponent(id)}`;
}

export function leaderKey(app: string): string {
  return `${LEADERS}${encodeURIComponent(app)}`;
}

/** The last segment of a key under `prefix`, decoded: an instance id or an app name. */
export function nameIn(prefix: string, key: string): string {
  return decodeURIComponent(key.slice(prefix.length));
}
