/**
 * Loads simsage for the benchmark, as a user would: the package entry `simsage` plus the machine
 * probes of `simsage/internal`. A failure (addon not built, wrong platform) becomes a reason
 * string, so the peers still run and the report says why simsage is missing.
 */

/** simsage's public entry point with the benchmark-support probes. */
export type SimsageApi = typeof import('simsage') & typeof import('simsage/internal')

let cached: Promise<SimsageApi | string> | undefined

/** Imports `simsage` and `simsage/internal` once; resolves to the API or to the reason it could not load. */
export function loadSimsage(): Promise<SimsageApi | string> {
  cached ??= (async () => {
    try {
      const [api, internal] = await Promise.all([import('simsage'), import('simsage/internal')])
      return { ...api, ...internal }
    } catch (err) {
      return `simsage failed to load (${(err as Error).message.split('\n')[0]})`
    }
  })()
  return cached
}
