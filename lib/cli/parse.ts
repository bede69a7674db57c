/**
 * Option-value parsers shared by the CLI commands: each returns the parsed value or throws
 * commander's InvalidArgumentError, so every bad value is reported the same way ("error: option
 * '--x <v>' argument 'y' is invalid. <why>") with exit code 1, before the command does any work.
 */
import { InvalidArgumentError } from 'commander'

/** An integer in [min, max]. */
export function integerOption(min: number, max = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v) => {
    const x = v.trim() === '' ? Number.NaN : Number(v)
    if (!Number.isInteger(x) || x < min || x > max) {
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER
          ? `It must be an integer >= ${min}.`
          : `It must be an integer in [${min}, ${max}].`,
      )
    }
    return x
  }
}

/** A finite number >= min (> min when `open`). */
export function numberOption(min: number, open = false): (v: string) => number {
  return (v) => {
    const x = v.trim() === '' ? Number.NaN : Number(v)
    if (!Number.isFinite(x) || (open ? x <= min : x < min))
      throw new InvalidArgumentError(`It must be a number ${open ? '>' : '>='} ${min}.`)
    return x
  }
}

/**
 * A non-empty comma-separated list whose every item `item` accepts (returns non-undefined);
 * `check` may reject the whole list with a reason. `what` describes the items and `label` names a
 * rejected one in messages.
 */
export function listOption<T>(
  what: string,
  item: (x: string) => T | undefined,
  check?: (items: T[]) => string | undefined,
  label = 'bad item',
): (v: string) => T[] {
  return (v) => {
    const parts = v.split(',').map((x) => x.trim())
    if (parts.every((x) => x === '')) throw new InvalidArgumentError(`The list is empty; give ${what}.`)
    const out: T[] = []
    for (const p of parts) {
      const x = p === '' ? undefined : item(p)
      if (x === undefined) throw new InvalidArgumentError(`${capital(label)} ${JSON.stringify(p)}; give ${what}.`)
      out.push(x)
    }
    const why = check?.(out)
    if (why) throw new InvalidArgumentError(`${capital(why)}.`)
    return out
  }
}

/** A comma-separated list of model names out of `names` (the `--models` option of the experiments). */
export function modelsOption<T extends string>(names: readonly T[]): (v: string) => T[] {
  return listOption(
    `model names (${names.join(', ')})`,
    (x) => ((names as readonly string[]).includes(x) ? (x as T) : undefined),
    undefined,
    'unknown model',
  )
}

const capital = (s: string) => `${s[0].toUpperCase()}${s.slice(1)}`
