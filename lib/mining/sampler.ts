/**
 * The online triplet sampler of Deep Ranking (Wang et al., CVPR 2014, section 4.3).
 *
 * Items stream in one at a time. Each category keeps a buffer of at most `bufferSize` items, filled
 * by weighted reservoir sampling (Efraimidis & Spirakis' A-Res): an arriving item i gets the key
 * u^(1/r_i), u uniform in (0, 1), and a full buffer keeps the largest keys. The buffer is then a
 * weighted sample without replacement, weights r_i = total relevance of i within its category
 * (sum of r_{i,j} over the other items j of the category).
 *
 * A triplet (q, p, n) is drawn from the buffers:
 * - the query q over all buffered items, with probability ∝ r_q;
 * - the positive p from q's buffer (p ≠ q), with probability ∝ min(T_p, r_{q,p});
 * - the negative n: with probability `outOfClassFraction` uniformly from the other buffers,
 *   otherwise uniformly from q's buffer (n ≠ q, n ≠ p);
 * - the triplet is kept only if r_{q,p} − r_{q,n} ≥ T_r, otherwise drawn again.
 *
 * Relevance comes from a callback r(i, j), a dense n x n matrix, or class labels alone (then
 * r_{i,j} = 1 within a class and 0 across classes). The sampler lives in TypeScript, not in
 * native/mining: it calls user callbacks per pair and is not a hot loop.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { Random } from '../random.js'

/** Options of {@link TripletSampler}. */
export interface TripletSamplerOptions {
  /** Category (class) of each item 0..n-1. */
  labels: ArrayLike<number>
  /** Capacity of each category's buffer. */
  bufferSize: number
  /** Pairwise relevance r(i, j) of items in the same category; absent: 1 within a class, 0 across. */
  relevance?: ((i: number, j: number) => number) | { matrix: Float32Array | Float64Array }
  /** Total relevance r_i; absent: summed from `relevance` over i's category (n_c calls per item). */
  totalRelevance?: (i: number) => number
  /** T_p: positives are drawn ∝ min(T_p, r_{q,p}) (default 1). */
  positiveThreshold?: number
  /** T_r: keep a triplet only if r_{q,p} − r_{q,n} ≥ T_r (default 1e-6: strictly more relevant). */
  relevanceMargin?: number
  /** Share of negatives drawn from other categories' buffers (default 0.5). */
  outOfClassFraction?: number
  /** Draws per requested triplet before giving up (default 1000). */
  maxAttemptsPerTriplet?: number
  seed?: number
}

interface Buffer {
  items: number[]
  keys: number[] // min-heap on keys, items alongside
}

/** Deep Ranking's relevance-weighted online triplet sampler. */
export class TripletSampler {
  readonly n: number
  readonly bufferSize: number
  readonly positiveThreshold: number
  readonly relevanceMargin: number
  readonly outOfClassFraction: number
  #labels: ArrayLike<number>
  #rel: (i: number, j: number) => number
  #total: (i: number) => number
  #members = new Map<number, number[]>()
  #buffers = new Map<number, Buffer>()
  #rng: Random
  #maxAttempts: number
  #totals = new Map<number, number>()

  constructor(options: TripletSamplerOptions) {
    const { labels } = options
    if (!labels || typeof labels.length !== 'number')
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'labels must be an array of category ids')
    this.n = labels.length
    this.#labels = labels
    if (!Number.isInteger(options.bufferSize) || options.bufferSize < 2) {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        `bufferSize must be an integer >= 2, got ${options.bufferSize}`,
      )
    }
    this.bufferSize = options.bufferSize
    this.positiveThreshold = options.positiveThreshold ?? 1
    this.relevanceMargin = options.relevanceMargin ?? 1e-6
    this.outOfClassFraction = options.outOfClassFraction ?? 0.5
    if (!(this.positiveThreshold > 0))
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'positiveThreshold must be > 0')
    if (!(this.outOfClassFraction >= 0 && this.outOfClassFraction <= 1)) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'outOfClassFraction must be in [0, 1]')
    }
    this.#maxAttempts = options.maxAttemptsPerTriplet ?? 1000
    this.#rng = new Random(options.seed ?? 1)
    for (let i = 0; i < this.n; i++) {
      const c = labels[i]
      if (!this.#members.has(c)) this.#members.set(c, [])
      this.#members.get(c)!.push(i)
    }
    if (this.#members.size < 2)
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'the sampler needs at least two categories')
    const rel = options.relevance
    if (rel === undefined) {
      this.#rel = (i, j) => (labels[i] === labels[j] ? 1 : 0)
    } else if (typeof rel === 'function') {
      this.#rel = rel
    } else {
      const m = rel.matrix
      if (m.length !== this.n * this.n)
        throw new SimsageError(ErrorCodes.DIM_MISMATCH, `relevance matrix must be ${this.n} x ${this.n}`)
      this.#rel = (i, j) => m[i * this.n + j]
    }
    this.#total =
      options.totalRelevance ??
      ((i) => {
        let s = 0
        for (const j of this.#members.get(labels[i])!) if (j !== i) s += this.#rel(i, j)
        return s
      })
  }

  #totalOf(i: number): number {
    let t = this.#totals.get(i)
    if (t === undefined) {
      t = this.#total(i)
      if (!(t >= 0) || !Number.isFinite(t))
        throw new SimsageError(
          ErrorCodes.NON_FINITE,
          `total relevance of item ${i} is ${t}; it must be finite and >= 0`,
        )
      this.#totals.set(i, t)
    }
    return t
  }

  /** Streams item i into its category's buffer (weighted reservoir step). */
  offer(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.n)
      throw new SimsageError(ErrorCodes.INVALID_ID, `item ${i} is outside [0, ${this.n})`)
    const r = this.#totalOf(i)
    if (r === 0) return // an item relevant to nothing can never be a query or positive
    const c = this.#labels[i]
    let b = this.#buffers.get(c)
    if (!b) {
      b = { items: [], keys: [] }
      this.#buffers.set(c, b)
    }
    const key = this.#rng.nextOpen() ** (1 / r)
    if (b.items.length < this.bufferSize) {
      b.items.push(i)
      b.keys.push(key)
      siftUp(b, b.items.length - 1)
    } else if (key > b.keys[0]) {
      b.items[0] = i
      b.keys[0] = key
      siftDown(b, 0)
    }
  }

  /** Streams items in the given order (default 0..n-1). */
  offerAll(order?: ArrayLike<number>): void {
    const n = order ? order.length : this.n
    for (let k = 0; k < n; k++) this.offer(order ? order[k] : k)
  }

  /** Items buffered for category c (a copy). */
  buffer(c: number): number[] {
    return [...(this.#buffers.get(c)?.items ?? [])]
  }

  /** Draws `count` triplets as a flat Int32Array (query, positive, negative, ...). */
  sample(count: number): Int32Array {
    if (!Number.isInteger(count) || count < 0)
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `count must be a non-negative integer, got ${count}`)
    const cats = [...this.#buffers.keys()].filter((c) => this.#buffers.get(c)!.items.length >= 2)
    if (cats.length === 0)
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'no buffer holds two items yet: offer items first')
    // Query distribution ∝ r_i over all buffered items of usable buffers.
    const pool: number[] = []
    const cum: number[] = []
    let total = 0
    for (const c of cats) {
      for (const i of this.#buffers.get(c)!.items) {
        total += this.#totalOf(i)
        pool.push(i)
        cum.push(total)
      }
    }
    const everyBuffered = [...this.#buffers.values()].flatMap((b) => b.items)
    const out = new Int32Array(count * 3)
    let made = 0
    let attempts = 0
    while (made < count) {
      if (++attempts > this.#maxAttempts * Math.max(1, count)) {
        throw new SimsageError(
          ErrorCodes.INVALID_ARGUMENT,
          `found ${made} of ${count} triplets satisfying r(q,p) - r(q,n) >= ${this.relevanceMargin}; ` +
            'relax relevanceMargin or raise outOfClassFraction',
        )
      }
      const q = pool[bisect(cum, this.#rng.next() * total)]
      const own = this.#buffers.get(this.#labels[q])!.items
      // positive ∝ min(T_p, r_{q,p}) over the rest of q's buffer
      let pw = 0
      const pcum: number[] = []
      for (const j of own) {
        pw += j === q ? 0 : Math.min(this.positiveThreshold, Math.max(0, this.#rel(q, j)))
        pcum.push(pw)
      }
      if (pw <= 0) continue
      const p = own[bisect(pcum, this.#rng.next() * pw)]
      let ng: number
      if (this.#rng.next() < this.outOfClassFraction) {
        const others = everyBuffered.length - own.length
        if (others <= 0) continue
        // uniform over the other buffers' items: draw until one of another category comes up
        do ng = everyBuffered[this.#rng.int(everyBuffered.length)]
        while (this.#labels[ng] === this.#labels[q])
      } else {
        if (own.length < 3) continue
        do ng = own[this.#rng.int(own.length)]
        while (ng === q || ng === p)
      }
      if (this.#rel(q, p) - this.#rel(q, ng) < this.relevanceMargin) continue
      out[3 * made] = q
      out[3 * made + 1] = p
      out[3 * made + 2] = ng
      made++
    }
    return out
  }
}

// First index whose cumulative weight exceeds x.
function bisect(cum: number[], x: number): number {
  let lo = 0,
    hi = cum.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (cum[mid] > x) hi = mid
    else lo = mid + 1
  }
  return lo
}

function swap(b: Buffer, i: number, j: number): void {
  ;[b.items[i], b.items[j]] = [b.items[j], b.items[i]]
  ;[b.keys[i], b.keys[j]] = [b.keys[j], b.keys[i]]
}

function siftUp(b: Buffer, i: number): void {
  while (i > 0) {
    const p = (i - 1) >> 1
    if (b.keys[p] <= b.keys[i]) break
    swap(b, i, p)
    i = p
  }
}

function siftDown(b: Buffer, i: number): void {
  for (;;) {
    const l = 2 * i + 1,
      r = l + 1
    let m = i
    if (l < b.keys.length && b.keys[l] < b.keys[m]) m = l
    if (r < b.keys.length && b.keys[r] < b.keys[m]) m = r
    if (m === i) return
    swap(b, i, m)
    i = m
  }
}
