/**
 * Pre-existing file embeddings for the commit-log experiment (OmniSearchSage's frozen task): the
 * item embeddings of a HierTCN (lib/train/hiertcn.ts) trained on the sessions of the given commits
 * only (the caller passes training commits: nothing after the split), aligned with a catalog.
 *
 * The commits become an interaction log (one row per file of a commit; a commit's files in a seeded
 * random order, as the shipped symfony sessions.csv has them) in a temporary CSV that the HierTCN
 * experiment reads; its `hiertcn` row trains with early stopping on its validation users and hands
 * back the model. A file gets the L2-normalised row of HierTCN's output item table; catalog files
 * HierTCN never trained on (not in the commits, or touched only by the users HierTCN holds out
 * for its own validation and test) get an all-zero row (no frozen vector).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import type { Commit } from '../data/commits.js'
import type { EntityCatalog } from '../data/search-data.js'
import { Random } from '../random.js'
import { normalizeRows } from '../search/towers.js'
import { HIERTCN_DEFAULTS, runHierTCNExperiment } from './hiertcn.js'

/** Options of {@link hierTCNEntityVectors}. */
export interface HierTCNVectorsOptions {
  /** Embedding dimension (the query tower's output dimension). */
  dim: number
  seed?: number
  /** HierTCN training epochs (early stopping keeps the best; default 8). */
  epochs?: number
  log?: (line: string) => void
}

/** HierTCN vectors of a catalog's files and how many files have one. */
export interface HierTCNVectors {
  /** [catalog entities, dim], unit rows; zero rows for files HierTCN never saw. */
  vectors: Float32Array
  covered: number
  seconds: number
  /** The HierTCN row's test metrics on its own held-out users (next-file Recall@10). */
  recall10: number
}

const quote = (s: string) => `"${s.replaceAll('"', '""')}"`

/** The interaction log of `commits` as CSV text (user_id, session_id, timestamp, item). */
export function commitInteractionsCsv(commits: readonly Commit[], seed = 1): string {
  const rng = new Random(seed)
  const lines = ['user_id,session_id,timestamp,item']
  for (const c of commits) {
    const items = [...new Set(c.items)]
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1))
      ;[items[i], items[j]] = [items[j], items[i]]
    }
    for (const item of items) lines.push(`${quote(c.user)},${quote(c.session)},${c.ts},${quote(item)}`)
  }
  return `${lines.join('\n')}\n`
}

/** Trains HierTCN on `commits` and returns its item vectors for `catalog` (see the file comment). */
export async function hierTCNEntityVectors(
  commits: readonly Commit[],
  catalog: EntityCatalog,
  o: HierTCNVectorsOptions,
): Promise<HierTCNVectors> {
  const t0 = performance.now()
  const dir = await mkdtemp(join(tmpdir(), 'simsage-hiertcn-'))
  const D = o.dim
  const vectors = new Float32Array(catalog.ids.length * D)
  let covered = 0
  try {
    const file = join(dir, 'sessions.csv')
    await writeFile(file, commitInteractionsCsv(commits, o.seed ?? 1))
    const result = await runHierTCNExperiment({
      ...HIERTCN_DEFAULTS,
      sessions: file,
      epochs: o.epochs ?? HIERTCN_DEFAULTS.epochs,
      seed: o.seed ?? HIERTCN_DEFAULTS.seed,
      embeddingDim: D,
      models: ['hiertcn'],
      prefetch: false,
      log: o.log,
      keep: async (model, log, trainFrequency) => {
        const table = model.output.data
        log.items.forEach((name, i) => {
          const e = catalog.index.get(name)
          // An item only HierTCN's validation or test users touched keeps its initial row: none.
          if (e === undefined || !(trainFrequency[i] > 0)) return
          vectors.set(table.subarray(i * D, i * D + D), e * D)
          covered++
        })
      },
    })
    normalizeRows(vectors, catalog.ids.length, D)
    return {
      vectors,
      covered,
      seconds: (performance.now() - t0) / 1000,
      recall10: result.rows[0]?.metrics.recall10 ?? 0,
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
