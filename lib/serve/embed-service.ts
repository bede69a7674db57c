/**
 * Embeddings through a loaded ranking tower: rows (images as pixel values in [0, 1], or any
 * feature rows of the tower's input width) looked up in the query-embedding cache first, the
 * misses of concurrent requests embedded as one batch.
 */
import { createHash } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import { ErrorCodes, SimsageError } from '../errors.js'
import { embed, type TowerSpec } from '../models/ranking-tower.js'
import type { Sequential } from '../nn/sequential.js'
import { MicroBatcher } from './batcher.js'

/** Options of {@link EmbedService}. */
export interface EmbedServiceOptions {
  batching?: boolean
  /** Most rows per tower forward (default 256). */
  maxBatch?: number
  windowMs?: number
  /** Cached embeddings (default 10,000; 0 disables the cache). */
  cacheSize?: number
  /** Seconds a cached embedding lives (default 600). */
  cacheTtlSeconds?: number
  onBatch?: (rows: number) => void
  /** Called per row looked up: true on a cache hit. */
  onCache?: (hit: boolean) => void
}

/**
 * An LRU of query embeddings with a TTL, keyed by a SHA-1 of the input row's bytes (text keys
 * when the query tower lands).
 */
export class EmbeddingCache {
  readonly #lru: LRUCache<string, Float32Array> | undefined

  constructor(size: number, ttlSeconds: number) {
    this.#lru = size > 0 ? new LRUCache<string, Float32Array>({ max: size, ttl: ttlSeconds * 1000 }) : undefined
  }

  /** The key of a feature row. */
  static rowKey(row: Float32Array): string {
    return createHash('sha1')
      .update(new Uint8Array(row.buffer, row.byteOffset, row.byteLength))
      .digest('base64')
  }

  get(key: string): Float32Array | undefined {
    return this.#lru?.get(key)
  }

  set(key: string, v: Float32Array): void {
    this.#lru?.set(key, v)
  }
}

/** Embeds rows with a ranking tower; see the file comment. */
export class EmbedService {
  readonly spec: TowerSpec
  readonly #model: Sequential
  readonly #cache: EmbeddingCache
  readonly #batcher: MicroBatcher<Float32Array, Float32Array>
  readonly #onCache: ((hit: boolean) => void) | undefined

  constructor(model: Sequential, spec: TowerSpec, options: EmbedServiceOptions = {}) {
    this.#model = model
    this.spec = spec
    this.#cache = new EmbeddingCache(options.cacheSize ?? 10_000, options.cacheTtlSeconds ?? 600)
    this.#onCache = options.onCache
    this.#batcher = new MicroBatcher<Float32Array, Float32Array>({
      run: (rows) => this.#run(rows),
      enabled: options.batching ?? true,
      maxBatch: options.maxBatch ?? 256,
      windowMs: options.windowMs ?? 1,
      rows: (x) => x.length / spec.inputDim,
      onBatch: options.onBatch,
    })
  }

  /** Embeds n rows (n x inputDim) → n x embeddingDim. */
  async embed(x: Float32Array): Promise<Float32Array> {
    const { inputDim, embeddingDim } = this.spec
    if (x.length % inputDim !== 0) {
      throw new SimsageError(ErrorCodes.DIM_MISMATCH, `input rows must have ${inputDim} values (the tower's input)`)
    }
    const n = x.length / inputDim
    const out = new Float32Array(n * embeddingDim)
    const missing: number[] = []
    const keys: string[] = []
    for (let i = 0; i < n; i++) {
      const key = EmbeddingCache.rowKey(x.subarray(i * inputDim, (i + 1) * inputDim))
      keys.push(key)
      const hit = this.#cache.get(key)
      this.#onCache?.(hit !== undefined)
      if (hit) out.set(hit, i * embeddingDim)
      else missing.push(i)
    }
    if (missing.length > 0) {
      const rows = new Float32Array(missing.length * inputDim)
      missing.forEach((i, j) => {
        rows.set(x.subarray(i * inputDim, (i + 1) * inputDim), j * inputDim)
      })
      const y = await this.#batcher.add(rows)
      missing.forEach((i, j) => {
        const v = y.slice(j * embeddingDim, (j + 1) * embeddingDim)
        this.#cache.set(keys[i], v)
        out.set(v, i * embeddingDim)
      })
    }
    return out
  }

  drain(): Promise<void> {
    return this.#batcher.drain()
  }

  #run(items: Float32Array[]): Float32Array[] {
    const { inputDim, embeddingDim } = this.spec
    let n = 0
    for (const x of items) n += x.length / inputDim
    const all = new Float32Array(n * inputDim)
    let at = 0
    for (const x of items) {
      all.set(x, at)
      at += x.length
    }
    const y = embed(this.#model, all, inputDim, embeddingDim)
    at = 0
    return items.map((x) => {
      const m = (x.length / inputDim) * embeddingDim
      const part = y.subarray(at, at + m)
      at += m
      return part
    })
  }
}
