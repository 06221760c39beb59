// The validated config is shared by every layer; freezing it all the way down makes an accidental write throw
// (in strict mode, which ES modules always are) instead of quietly changing what another layer sees.

export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key]);
  return Object.freeze(value);
}
