/**
 * Data of the precision section of `bench similarity` (`--precision-data`).
 *
 * - `random` (default): the run's seeded normal corpus and queries.
 * - `fashion`: Fashion-MNIST embedded to 64-d, the 60,000 training images as the corpus and the
 *   10,000 test images as the queries (70k vectors). Two embeddings (`--fashion-embed`):
 *   - `tower` (default): a ranking tower as `simsage train ranking` builds it (784 -> 512 -> 256 ->
 *     64, L2-normalised; semi-hard miner, Adam 3e-4, batch 256, margin 0.2, seed 1) trained for
 *     `--fashion-epochs` (default 3) epochs on the 60,000 training images: seconds per epoch on
 *     2 cores, short of the 30-epoch README model but a learned metric space.
 *   - `projection`: nothing trained; pixels in [0, 1] minus the training set's per-pixel mean,
 *     times a seeded N(0, 1) 784 x 64 matrix, each row L2-normalised.
 *   Both give unit vectors, so the 'ip' metric is the cosine; unlike seeded normal data they have
 *   near-duplicates and clusters, which is what makes quantisation errors reorder neighbours.
 */
import { randomNormal } from './data.js'
import type { SimsageApi } from './simsageApi.js'

/** Which data the precision section measures on. */
export type PrecisionDataKind = 'random' | 'fashion'

/** Corpus and queries of the precision section. */
export interface PrecisionData {
  /** One line saying what the data is. */
  readonly label: string
  readonly corpus: Float32Array
  readonly n: number
  readonly dim: number
  readonly queries: Float32Array
  /** Query rows available. */
  readonly nQueries: number
  /** Queries the recall is measured on (the first ones). */
  readonly recallQueries: number
}

/** Output dimension of the Fashion-MNIST embeddings. */
export const fashionDim = 64

/** How Fashion-MNIST is embedded (see the file comment). */
export type FashionEmbedding = { readonly kind: 'tower'; readonly epochs: number } | { readonly kind: 'projection' }

/**
 * Fashion-MNIST from `dir` embedded as the file comment says, or the reason it cannot be
 * (directory or files absent).
 */
export async function fashionPrecisionData(
  api: SimsageApi,
  dir: string,
  seed: number,
  embedding: FashionEmbedding = { kind: 'projection' },
): Promise<PrecisionData | string> {
  let train: Awaited<ReturnType<SimsageApi['loadFashionMnist']>>
  let test: typeof train
  try {
    ;[train, test] = await Promise.all([api.loadFashionMnist(dir, 'train'), api.loadFashionMnist(dir, 'test')])
  } catch (err) {
    return `Fashion-MNIST not loaded from ${dir} (${(err as Error).message.split('\n')[0]})`
  }
  if (embedding.kind === 'tower') {
    const spec = { inputDim: train.dim, hidden: [512, 256], embeddingDim: fashionDim }
    const model = api.rankingTower(spec, 1)
    const metrics = api.trainRanking({
      x: train.images,
      labels: train.labels,
      inputDim: train.dim,
      embeddingDim: fashionDim,
      model,
      optimizer: new api.Adam(model.parameters(), { lr: 3e-4 }),
      source: { kind: 'miner', miner: new api.SemiHardMiner({ metric: 'sqeuclidean' }) },
      epochs: embedding.epochs,
      batchSize: 256,
      margin: 0.2,
      seed: 1,
    })
    const seconds = metrics.reduce((a, m) => a + m.seconds, 0)
    const last = metrics[metrics.length - 1]
    return {
      label:
        `Fashion-MNIST, ${train.n} training images as the corpus, ${test.n} test images as the queries, embedded ` +
        `by a ranking tower 784-512-256-${fashionDim} trained ${embedding.epochs} epochs on the training images ` +
        `(semi-hard, Adam 3e-4, batch 256, seed 1; ${seconds.toFixed(1)} s, last loss ${last?.loss.toFixed(4)})`,
      corpus: api.embed(model, train.images, train.dim, fashionDim),
      n: train.n,
      dim: fashionDim,
      queries: api.embed(model, test.images, test.dim, fashionDim),
      nQueries: test.n,
      recallQueries: test.n,
    }
  }
  const p = train.dim
  const mean = new Float64Array(p)
  for (let i = 0; i < train.n; i++) for (let j = 0; j < p; j++) mean[j] += train.images[i * p + j]
  for (let j = 0; j < p; j++) mean[j] /= train.n
  const proj = randomNormal(p * fashionDim, seed)
  // mean x R, subtracted after the sparse product (most pixels are 0).
  const meanProj = new Float64Array(fashionDim)
  for (let j = 0; j < p; j++) for (let c = 0; c < fashionDim; c++) meanProj[c] += mean[j] * proj[j * fashionDim + c]
  const embed = (images: Float32Array, n: number): Float32Array => {
    const out = new Float32Array(n * fashionDim)
    const acc = new Float64Array(fashionDim)
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < fashionDim; c++) acc[c] = -meanProj[c]
      for (let j = 0; j < p; j++) {
        const v = images[i * p + j]
        if (v === 0) continue
        const r = j * fashionDim
        for (let c = 0; c < fashionDim; c++) acc[c] += v * proj[r + c]
      }
      let norm = 0
      for (let c = 0; c < fashionDim; c++) norm += acc[c] * acc[c]
      const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0
      for (let c = 0; c < fashionDim; c++) out[i * fashionDim + c] = acc[c] * inv
    }
    return out
  }
  return {
    label:
      `Fashion-MNIST, ${train.n} training images as the corpus, ${test.n} test images as the queries, ` +
      `embedded by a fixed seeded random projection to ${fashionDim}-d (pixels less the training mean, L2-normalised)`,
    corpus: embed(train.images, train.n),
    n: train.n,
    dim: fashionDim,
    queries: embed(test.images, test.n),
    nQueries: test.n,
    recallQueries: test.n,
  }
}
