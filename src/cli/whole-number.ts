import { InvalidArgumentError } from 'commander';

/** A commander option parser: a whole number of at least `min` (the option's name goes in commander's message). */
export function wholeNumber(min: number): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || n < min) throw new InvalidArgumentError(`must be a whole number ≥ ${min}`);
    return n;
  };
}
