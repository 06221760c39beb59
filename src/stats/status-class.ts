// The status classes that cutover_requests_total counts by. EnvStats keeps one monotonic total per class, indexed
// as in STATUS_CLASSES, so counting a request is one increment of a typed array.

export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'client_closed', 'other'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

/** What the proxy records when the client went away before the response head (nginx's 499). */
export const CLIENT_CLOSED_STATUS = 499;
const CLIENT_CLOSED = 5;
const OTHER = 6;

/** The index in STATUS_CLASSES of a status code. An upstream's own 499 counts as client_closed too. */
export function statusClassIndex(status: number): number {
  if (status === CLIENT_CLOSED_STATUS) return CLIENT_CLOSED;
  if (status >= 100 && status <= 599) return Math.floor(status / 100) - 1;
  return OTHER;
}
