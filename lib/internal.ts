/**
 * Benchmark support (`simsage/internal`): machine probes the benchmarks divide by. Not part of the
 * public API: no semver guarantee, may change or go in any release.
 *
 * @internal
 * @packageDocumentation
 */
export { probeFmaPeak, probeReadBandwidth } from './info.js'
