/**
 * Prometheus metrics of one server (its own prom-client registry, so several servers in one
 * process do not collide): request latency per route, batch sizes per batcher, embedding-cache
 * hits, index size and version, state-store errors, index reloads.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/** The server's metric set. */
export class ServeMetrics {
  readonly registry = new Registry()
  /** Seconds per request, by route pattern, method and status. */
  readonly latency: Histogram<'route' | 'method' | 'status'>
  /** Rows per native batch, by batcher (search, embed, events). */
  readonly batchSize: Histogram<'batcher'>
  readonly cacheLookups: Counter<'result'>
  readonly cacheHitRate: Gauge
  readonly indexSize: Gauge
  readonly indexVersion: Gauge
  readonly stateStoreErrors: Counter
  readonly reloads: Counter<'result'>
  #hits = 0
  #lookups = 0

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry]
    this.latency = new Histogram({
      name: 'simsage_http_request_duration_seconds',
      help: 'HTTP request latency in seconds, by route',
      labelNames: ['route', 'method', 'status'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    })
    this.batchSize = new Histogram({
      name: 'simsage_batch_rows',
      help: 'Rows per micro-batch, by batcher',
      labelNames: ['batcher'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers,
    })
    this.cacheLookups = new Counter({
      name: 'simsage_embedding_cache_lookups_total',
      help: 'Query-embedding cache lookups, by result (hit, miss)',
      labelNames: ['result'],
      registers,
    })
    this.cacheHitRate = new Gauge({
      name: 'simsage_embedding_cache_hit_ratio',
      help: 'Share of query-embedding cache lookups that hit, since start',
      registers,
    })
    this.indexSize = new Gauge({ name: 'simsage_index_vectors', help: 'Vectors in the served index', registers })
    this.indexVersion = new Gauge({
      name: 'simsage_index_version',
      help: 'Version of the served index (1 at start, +1 per reload)',
      registers,
    })
    this.stateStoreErrors = new Counter({
      name: 'simsage_state_store_errors_total',
      help: 'User-state store failures (unreachable, timed out)',
      registers,
    })
    this.reloads = new Counter({
      name: 'simsage_index_reloads_total',
      help: 'Index reloads, by result (ok, failed)',
      labelNames: ['result'],
      registers,
    })
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry })
  }

  /** Counts one cache lookup. */
  cache(hit: boolean): void {
    this.#lookups++
    if (hit) this.#hits++
    this.cacheLookups.inc({ result: hit ? 'hit' : 'miss' })
    this.cacheHitRate.set(this.#hits / this.#lookups)
  }
}
