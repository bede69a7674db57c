/**
 * Text queries through an OmniSearchSage query tower (a `simsage train searchsage` checkpoint):
 * texts looked up in the query-embedding cache (LRU with TTL, keyed by the text), the misses of
 * concurrent requests featurised and embedded as one batch, L2-normalised (the index is searched
 * by inner product = cosine); for an index of the checkpoint's query → query prefix dimension, the
 * vectors' prefix, normalised (the cache holds whole vectors).
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { FieldFeatures } from '../search/field-features.js'
import { prefixRows } from '../search/prefix.js'
import { normalizeRows, type TextTower } from '../search/towers.js'
import { MicroBatcher } from './batcher.js'
import { EmbeddingCache, type EmbedServiceOptions } from './embed-service.js'

/** Longest query text accepted (UTF-16 units). */
export const MAX_QUERY_CHARS = 4096

/** Embeds query texts; see the file comment. */
export class TextQueryService {
  readonly dim: number
  /** The query → query prefix (dimensions an index of queries is searched with; dim when none). */
  readonly prefix: number
  readonly #tower: TextTower
  readonly #cache: EmbeddingCache
  readonly #batcher: MicroBatcher<string[], Float32Array>
  readonly #onCache: ((hit: boolean) => void) | undefined

  constructor(tower: TextTower, options: EmbedServiceOptions & { prefix?: number } = {}) {
    this.#tower = tower
    this.dim = tower.outputDim
    this.prefix = options.prefix ?? tower.outputDim
    if (!(Number.isInteger(this.prefix) && this.prefix >= 1 && this.prefix <= this.dim)) {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        `prefix must be an integer in [1, ${this.dim}], got ${options.prefix}`,
      )
    }
    this.#cache = new EmbeddingCache(options.cacheSize ?? 10_000, options.cacheTtlSeconds ?? 600)
    this.#onCache = options.onCache
    this.#batcher = new MicroBatcher<string[], Float32Array>({
      run: (batches) => this.#run(batches),
      enabled: options.batching ?? true,
      maxBatch: options.maxBatch ?? 256,
      windowMs: options.windowMs ?? 1,
      rows: (texts) => texts.length,
      onBatch: options.onBatch,
    })
  }

  /**
   * n texts → n x dims normalised embeddings: dims = dim (the whole vector) or the first `dims`
   * (a prefix, normalised). Empty texts or texts over MAX_QUERY_CHARS: INVALID_ARGUMENT.
   */
  async embed(texts: readonly string[], dims = this.dim): Promise<Float32Array> {
    texts.forEach((t, i) => {
      if (typeof t !== 'string' || t.trim() === '' || t.length > MAX_QUERY_CHARS) {
        throw new SimsageError(
          ErrorCodes.INVALID_ARGUMENT,
          `text[${i}] must be a non-empty string of at most ${MAX_QUERY_CHARS} characters`,
        )
      }
    })
    const D = this.dim
    const out = new Float32Array(texts.length * D)
    const missing: number[] = []
    texts.forEach((t, i) => {
      const hit = this.#cache.get(`t:${t}`)
      this.#onCache?.(hit !== undefined)
      if (hit) out.set(hit, i * D)
      else missing.push(i)
    })
    if (missing.length > 0) {
      const y = await this.#batcher.add(missing.map((i) => texts[i]))
      missing.forEach((i, j) => {
        const v = y.slice(j * D, (j + 1) * D)
        this.#cache.set(`t:${texts[i]}`, v)
        out.set(v, i * D)
      })
    }
    return dims === D ? out : prefixRows(out, texts.length, D, dims)
  }

  drain(): Promise<void> {
    return this.#batcher.drain()
  }

  #run(batches: string[][]): Float32Array[] {
    const all = batches.flat()
    const D = this.dim
    const feats = new FieldFeatures(this.#tower.bag, [all])
    const y = normalizeRows(
      this.#tower.forward(feats.gather(Int32Array.from(all, (_, i) => i)), all.length).slice(),
      all.length,
      D,
    )
    let at = 0
    return batches.map((b) => {
      const part = y.subarray(at * D, (at + b.length) * D)
      at += b.length
      return part
    })
  }
}
