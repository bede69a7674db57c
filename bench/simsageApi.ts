/**
 * Loads simsage's public API for the benchmark. A failure (addon not built, wrong platform)
 * becomes a reason string, so the peers still run and the report says why simsage is missing.
 */

/** simsage's public entry point. */
export type SimsageApi = typeof import('../lib/index.js')

let cached: Promise<SimsageApi | string> | undefined

/** Imports `lib/index.js` once; resolves to the API or to the reason it could not load. */
export function loadSimsage(): Promise<SimsageApi | string> {
  cached ??= (async () => {
    try {
      return await import('../lib/index.js')
    } catch (err) {
      return `simsage failed to load (${(err as Error).message.split('\n')[0]})`
    }
  })()
  return cached
}
