/**
 * Option parsing shared by the benchmarks' option modules (bench/*-options.ts): comma-separated
 * lists of positive integers and single positive numbers, throwing a RangeError that names the
 * option.
 */
/** Parses "1,16,256" into positive integers; throws naming `what` on bad input. */
export function parseIntList(value: string | readonly number[], what: string): number[] {
  const items =
    typeof value === 'string'
      ? value
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : [...value]
  const out = items.map((v) => Number(v))
  if (out.length === 0 || out.some((v) => !Number.isInteger(v) || v <= 0)) {
    throw new RangeError(`${what}: expected a comma-separated list of positive integers, got "${String(value)}"`)
  }
  return [...new Set(out)].sort((a, b) => a - b)
}

/** Parses one positive number (integer when `integer`); throws naming `what`. */
export function parsePositive(value: string | number, what: string, integer: boolean): number {
  const v = Number(value)
  if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new RangeError(`${what}: expected a positive ${integer ? 'integer' : 'number'}, got "${String(value)}"`)
  }
  return v
}
