/**
 * The served index and its hot swap: a new file loads off the event loop while the current index
 * keeps answering; the swap is one reference assignment; the old index is disposed once the last
 * search that took it has finished. A file that fails to load (checksum, format, missing) leaves
 * the current index serving.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { EmbeddingIndex } from '../similarity/embedding-index.js'

/** The index serving now, with its version. */
export interface Served {
  index: EmbeddingIndex
  /** 1 for the first index, +1 per successful reload. */
  version: number
  /** The file it came from (undefined for an index given in memory). */
  path: string | undefined
  /** When it started serving (ms since the epoch). */
  since: number
}

interface Held extends Served {
  refs: number
  retired: boolean
}

/** Holds the served index; see the file comment. */
export class IndexHolder {
  #cur: Held
  #loading: Promise<Served> | undefined
  /** Called after each swap (metrics). */
  onSwap: ((s: Served) => void) | undefined

  constructor(index: EmbeddingIndex, path?: string) {
    this.#cur = { index, version: 1, path, since: Date.now(), refs: 0, retired: false }
  }

  /** The index serving now. */
  get current(): Served {
    return this.#cur
  }

  /**
   * Runs `fn` with the current index, which stays alive (not disposed by a swap) until `fn`
   * settles. Call `fn`'s search synchronously inside it.
   */
  async use<T>(fn: (s: Served) => Promise<T>): Promise<T> {
    const h = this.#cur
    h.refs++
    try {
      return await fn(h)
    } finally {
      h.refs--
      if (h.retired && h.refs === 0) h.index.dispose()
    }
  }

  /**
   * Loads `path` (default: the current file) and swaps it in. Concurrent calls share one load.
   * Rejects with the load's coded error, the current index still serving, when the file is bad.
   */
  reload(path?: string): Promise<Served> {
    if (this.#loading) return this.#loading
    const file = path ?? this.#cur.path
    const run = async (): Promise<Served> => {
      if (file === undefined) {
        throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'no index file to reload: give a path')
      }
      const index = await EmbeddingIndex.load(file)
      const old = this.#cur
      this.#cur = { index, version: old.version + 1, path: file, since: Date.now(), refs: 0, retired: false }
      old.retired = true
      if (old.refs === 0) old.index.dispose()
      this.onSwap?.(this.#cur)
      return this.#cur
    }
    this.#loading = run().finally(() => {
      this.#loading = undefined
    })
    return this.#loading
  }

  /** Disposes the current index (server shutdown). */
  close(): void {
    this.#cur.retired = true
    if (this.#cur.refs === 0) this.#cur.index.dispose()
  }
}
