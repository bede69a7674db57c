/**
 * The `npm start` demo's artifacts, built from the data shipped in the repository and cached:
 * a ranking tower trained briefly on the Fashion-MNIST subset (data/fashion-mnist-small), the
 * index of its 3,000 training images' embeddings (ids 0..2999, cosine), and a HierTCN trained
 * briefly on a synthetic interaction log over those images (each user browses one clothing class
 * in a few sessions), whose item ids are the image ids.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fashionMnistSmallPath, loadFashionMnist } from '../data/fashion-mnist.js'
import { embed, rankingTower, saveTower } from '../models/ranking-tower.js'
import { Adam } from '../nn/optim.js'
import { Random } from '../random.js'
import { EmbeddingIndex } from '../similarity/embedding-index.js'
import { saveHierTCN } from '../train/hiertcn-checkpoint.js'
import { HIERTCN_DEFAULTS, runHierTCNExperiment } from '../train/hiertcn.js'
import { rankingModels } from '../train/methods.js'
import { trainRanking } from '../train/ranking.js'

/** Where the demo's files are. */
export interface DemoArtifacts {
  index: string
  /** Holds tower.safetensors and hiertcn.safetensors. */
  model: string
  /** A few test images (pixel rows in [0, 1]) for the printed examples. */
  sample: number[][]
}

const VERSION = 'demo-v1'

/** Builds the demo's files under `cacheDir` (once; later calls reuse them). */
export async function buildDemo(cacheDir: string, log: (line: string) => void = () => {}): Promise<DemoArtifacts> {
  const dir = join(cacheDir, VERSION)
  const model = join(dir, 'model')
  const index = join(dir, 'index.simsage')
  const towerPath = join(model, 'tower.safetensors')
  const hiertcnPath = join(model, 'hiertcn.safetensors')
  const test = await loadFashionMnist(fashionMnistSmallPath, 'test')
  const sample = [0, 1, 2].map((i) =>
    Array.from(test.images.subarray(i * test.dim, (i + 1) * test.dim), (v) => +v.toFixed(3)),
  )
  if (existsSync(index) && existsSync(towerPath) && existsSync(hiertcnPath)) return { index, model, sample }
  mkdirSync(model, { recursive: true })
  const train = await loadFashionMnist(fashionMnistSmallPath, 'train')
  log(`training a ranking tower on ${train.n} Fashion-MNIST images ...`)
  const spec = { inputDim: train.dim, hidden: [128], embeddingDim: 64 }
  const tower = rankingTower(spec, 1)
  trainRanking({
    x: train.images,
    labels: train.labels,
    inputDim: train.dim,
    embeddingDim: spec.embeddingDim,
    model: tower,
    optimizer: new Adam(tower.parameters(), { lr: 0.001 }),
    ...rankingModels({ margin: 0.2, bufferSize: 256, seed: 1 })['semi-hard'](),
    epochs: 2,
    batchSize: 256,
    seed: 1,
  })
  await saveTower(towerPath, tower, spec, { data: 'fashion-mnist-small', purpose: 'npm start demo' })
  const vectors = embed(tower, train.images, spec.inputDim, spec.embeddingDim)
  const ix = new EmbeddingIndex({ dim: spec.embeddingDim, metric: 'cosine', metadata: { data: 'fashion-mnist-small' } })
  ix.add(
    Float64Array.from({ length: train.n }, (_, i) => i),
    vectors,
  )
  await ix.save(index)
  ix.dispose()

  log('training a HierTCN on a synthetic browsing log over the same images ...')
  const byClass: number[][] = Array.from({ length: 10 }, () => [])
  train.labels.forEach((c, i) => {
    byClass[c].push(i)
  })
  const rng = new Random(7)
  const lines = ['user_id,session_id,timestamp,item']
  let ts = 1_700_000_000
  for (let u = 0; u < 400; u++) {
    const pool = byClass[u % 10]
    for (let s = 0; s < 3; s++) {
      for (let a = 0; a < 6; a++) {
        ts += 20
        lines.push(`user${u},${s},${ts},${pool[Math.floor(rng.next() * 60)]}`)
      }
      ts += 7200
    }
  }
  const csv = join(dir, 'browsing.csv')
  writeFileSync(csv, `${lines.join('\n')}\n`)
  await runHierTCNExperiment({
    ...HIERTCN_DEFAULTS,
    sessions: csv,
    models: ['hiertcn'],
    epochs: 3,
    embeddingDim: 32,
    userHidden: 32,
    channels: [32, 32],
    dilations: [1, 2],
    negatives: 64,
    keep: async (m, l) => saveHierTCN(hiertcnPath, m, l.items, { purpose: 'npm start demo' }),
  })
  return { index, model, sample }
}
