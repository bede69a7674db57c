/**
 * TF-IDF bag-of-words retrieval, the text baseline of the searchsage experiment: each document and
 * query is a bag of word unigrams and bigrams (NFKC, lower case, split on anything that is not a
 * Unicode letter or digit), weighted by sublinear tf (1 + ln tf) times smoothed idf
 * (ln((1 + N) / (1 + df)) + 1, computed over the documents), L2-normalised; the score is the cosine.
 * Query terms absent from the documents are ignored. Scoring walks an inverted index (term →
 * documents), so one query costs the postings of its terms, not N.
 */
import { ErrorCodes, SimsageError } from '../errors.js'

const SPLIT = /[^\p{L}\p{N}]+/u

/** The words of `text`: NFKC, lower case, split on non-alphanumerics (Unicode-aware). */
export function wordTokens(text: string): string[] {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .split(SPLIT)
    .filter((w) => w.length > 0)
}

/** Unigrams and bigrams (a bigram is "a b") of a word list. */
export function withBigrams(words: readonly string[]): string[] {
  const out = words.slice()
  for (let i = 1; i < words.length; i++) out.push(`${words[i - 1]} ${words[i]}`)
  return out
}

/** The baseline's terms of a text: its word unigrams and bigrams. */
export function tfidfTerms(text: string): string[] {
  return withBigrams(wordTokens(text))
}

/** A TF-IDF index over documents given as term lists. */
export class TfidfIndex {
  /** Number of documents. */
  readonly size: number
  #terms = new Map<string, number>()
  #idf: Float64Array
  // Inverted index (CSR over terms): documents and their normalised weights.
  #start: Int32Array
  #doc: Int32Array
  #weight: Float32Array

  /** @param docs one term list per document (a document may be empty: it scores 0). */
  constructor(docs: readonly (readonly string[])[]) {
    if (docs.length === 0) throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'TfidfIndex needs at least one document')
    this.size = docs.length
    const counts = docs.map((d) => {
      const c = new Map<number, number>()
      for (const t of d) {
        let id = this.#terms.get(t)
        if (id === undefined) {
          id = this.#terms.size
          this.#terms.set(t, id)
        }
        c.set(id, (c.get(id) ?? 0) + 1)
      }
      return c
    })
    const V = this.#terms.size
    const df = new Int32Array(V)
    for (const c of counts) for (const id of c.keys()) df[id]++
    this.#idf = new Float64Array(V)
    for (let t = 0; t < V; t++) this.#idf[t] = Math.log((1 + docs.length) / (1 + df[t])) + 1
    this.#start = new Int32Array(V + 1)
    for (let t = 0; t < V; t++) this.#start[t + 1] = this.#start[t] + df[t]
    const fill = this.#start.slice(0, V)
    this.#doc = new Int32Array(this.#start[V])
    this.#weight = new Float32Array(this.#start[V])
    counts.forEach((c, d) => {
      const w = this.#weigh(c)
      for (const [id, v] of w) {
        this.#doc[fill[id]] = d
        this.#weight[fill[id]++] = v
      }
    })
  }

  /** Normalised tf-idf weights of a term-count map. */
  #weigh(c: Map<number, number>): Map<number, number> {
    const w = new Map<number, number>()
    let norm = 0
    for (const [id, tf] of c) {
      const v = (1 + Math.log(tf)) * this.#idf[id]
      w.set(id, v)
      norm += v * v
    }
    norm = Math.sqrt(norm)
    if (norm > 0) for (const [id, v] of w) w.set(id, v / norm)
    return w
  }

  /**
   * Cosine scores of a query against every document, written to `out` (length {@link size}).
   * @returns out
   */
  scores(query: readonly string[], into?: Float32Array): Float32Array {
    const out = into ?? new Float32Array(this.size)
    if (out.length !== this.size) {
      throw new SimsageError(ErrorCodes.DIM_MISMATCH, `out has length ${out.length}, the index ${this.size} documents`)
    }
    out.fill(0)
    const c = new Map<number, number>()
    for (const t of query) {
      const id = this.#terms.get(t)
      if (id !== undefined) c.set(id, (c.get(id) ?? 0) + 1)
    }
    for (const [id, q] of this.#weigh(c)) {
      for (let p = this.#start[id]; p < this.#start[id + 1]; p++) out[this.#doc[p]] += q * this.#weight[p]
    }
    return out
  }
}
