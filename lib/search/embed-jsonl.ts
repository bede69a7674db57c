/**
 * `simsage embed`: texts from a JSONL file → an EmbeddingIndex file, through a searchsage
 * checkpoint's query tower or entity tower. One item per line:
 *   query tower:  {"id": 17, "text": "fix the router cache"}
 *   entity tower: {"id": 17, "path": "src/Router.php", "folders": "src", "subjects": ["...", ...]}
 *     or, as in the entities file of `train searchsage --entities`, the fields in one object:
 *     {"id": 17, "type": "pin", "fields": {"title": "...", "queries": ["...", ...]}}
 *     (one key per field of the tower, the names recorded in the checkpoint's entity spec; other
 *     keys are ignored; a missing field is empty; a field may be a string or a list of strings,
 *     of which the last `maxSubjects` are kept, joined as in training)
 * Ids are integers in [0, 2^53) (EmbeddingIndex ids), each at most once. Vectors are L2-normalised
 * and the index's metric is `ip` (= cosine). `prefix` keeps the first n dimensions of each vector
 * (then normalised): `"query"` is the checkpoint's query → query prefix, for an index of queries
 * that queries search (the query tower's prefix is what that task trained). Errors name the line: MALFORMED_INPUT for a line that
 * is not such an object, INVALID_ID for a bad or repeated id.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { jsonlError, jsonlRecords } from '../data/jsonl.js'
import { EmbeddingIndex } from '../similarity/embedding-index.js'
import { describe } from '../validate.js'
import type { SearchSageTowers } from './checkpoint.js'
import { FieldFeatures } from './field-features.js'
import { normalizeRows } from './towers.js'
import { prefixRows } from './prefix.js'

/** Which tower embeds the file's items. */
export type EmbedTower = 'query' | 'entity'

/** Options of {@link embedJsonl}. */
export interface EmbedOptions {
  /** Dimensions kept: a number in [1, dim], or "query" (the checkpoint's query prefix); default all. */
  prefix?: number | string
}

/** The dimensions `prefix` keeps of a tower with `dim` outputs (INVALID_ARGUMENT if out of range). */
export function embedDims(m: SearchSageTowers, dim: number, prefix: number | string | undefined): number {
  if (prefix === undefined) return dim
  const n = prefix === 'query' ? (m.queryPrefix ?? m.query.outputDim) : Number(prefix)
  if (!Number.isInteger(n) || n < 1 || n > dim) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `prefix must be "query" or an integer in [1, ${dim}], got ${JSON.stringify(prefix)}`,
    )
  }
  return n
}

/**
 * Reads the items of `input` and embeds them; returns the ids, the [n, dim] normalised vectors and
 * their dimension (`options.prefix`).
 */
export async function embedJsonl(
  m: SearchSageTowers,
  input: string,
  tower: EmbedTower,
  options: EmbedOptions = {},
): Promise<{ ids: number[]; vectors: Float32Array; dim: number }> {
  const t = tower === 'query' ? m.query : m.entity
  const dim = embedDims(m, t.outputDim, options.prefix)
  if (t.spec.frozenDim > 0) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `the ${tower} tower takes frozen vectors: embed cannot run it`)
  }
  const fields = tower === 'query' ? ['text'] : t.spec.fields
  const texts: string[][] = fields.map(() => [])
  const ids: number[] = []
  const seen = new Set<number>()
  for await (const chunk of jsonlRecords(input, 'read items')) {
    for (const { line, value } of chunk) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw jsonlError(input, line, `expected an object, got ${describe(value)}`)
      }
      const o = value as Record<string, unknown>
      const id = o.id
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
        throw new SimsageError(
          ErrorCodes.INVALID_ID,
          `${input}:${line}: "id" must be an integer in [0, 2^53), got ${describe(id)}`,
        )
      }
      if (seen.has(id)) throw new SimsageError(ErrorCodes.INVALID_ID, `${input}:${line}: id ${id} appears twice`)
      seen.add(id)
      ids.push(id)
      const nested = o.fields
      const src =
        tower === 'entity' && nested !== null && typeof nested === 'object' && !Array.isArray(nested)
          ? (nested as Record<string, unknown>)
          : o
      let any = false
      fields.forEach((f, i) => {
        const v = src[f]
        let text = ''
        if (typeof v === 'string') text = v
        else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) text = v.slice(-m.maxSubjects).join(' | ')
        else if (v !== undefined)
          throw jsonlError(input, line, `"${f}" must be a string or a list of strings, got ${describe(v)}`)
        if (text.trim() !== '') any = true
        texts[i].push(text)
      })
      if (!any) throw jsonlError(input, line, `no text in any of the fields ${fields.map((f) => `"${f}"`).join(', ')}`)
    }
  }
  if (ids.length === 0) throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `${input} holds no items`)
  const feats = new FieldFeatures(t.bag, texts)
  const D = t.outputDim
  const vectors = new Float32Array(ids.length * D)
  const chunk = 1024
  for (let a = 0; a < ids.length; a += chunk) {
    const part = Int32Array.from({ length: Math.min(chunk, ids.length - a) }, (_, i) => a + i)
    vectors.set(t.forward(feats.gather(part), part.length), a * D)
  }
  return { ids, vectors: prefixRows(normalizeRows(vectors, ids.length, D), ids.length, D, dim), dim }
}

/** embedJsonl, then writes the vectors as an EmbeddingIndex file (metric ip). */
export async function embedToIndex(
  m: SearchSageTowers,
  input: string,
  out: string,
  tower: EmbedTower,
  options: EmbedOptions = {},
): Promise<number> {
  const { ids, vectors, dim } = await embedJsonl(m, input, tower, options)
  const index = new EmbeddingIndex({ dim, metric: 'ip' })
  try {
    await index.addAsync(ids, vectors)
    await index.save(out)
  } finally {
    index.dispose()
  }
  return ids.length
}
