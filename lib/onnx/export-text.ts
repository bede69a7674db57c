/**
 * A searchsage {@link TextTower} (lib/search/towers.ts) as ONNX: the query tower of a searchsage
 * checkpoint, from token row ids, as simsage embeds a query (`embedQueries`):
 *
 *   per field segment s = item · F + field: bag[s] = hashBag(a, b, q, segment)     [n·F, D]
 *   present[s] = (tokens in s > 0); pooled[i] = Σ_f present · bag[i·F + f]         [n, D]
 *   embedding = L2Normalize(MLP(pooled))                                          [n, outputDim]
 *
 * Inputs (int64): `a`, `b`, `q` [N] (each token's two table rows and importance row) and `segment`
 * [N] (its item · F + field), `items` [1] (n). {@link textTowerOnnxInputs} makes them from texts
 * with simsage's featuriser (NFKC, trigrams / words / bigrams, seeded 64-bit hashes), which the
 * graph does not repeat. Towers with a frozen input (the entity tower of the frozen task) are not
 * exported.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { FieldFeatures } from '../search/field-features.js'
import type { TextTower } from '../search/towers.js'
import { loadSearchSage, SEARCHSAGE_FORMAT } from '../search/checkpoint.js'
import { type CheckpointExporter, type ExportedModel, finishExport } from './checkpoint.js'
import { OnnxGraph } from './graph.js'
import { exportModule } from './modules.js'
import { l2Normalize } from './ops.js'
import { hashBag } from './ops-text.js'

/** The inputs of an exported text tower for some texts (feed them to onnxruntime as int64 tensors). */
export interface TextTowerOnnxInputs {
  a: BigInt64Array
  b: BigInt64Array
  q: BigInt64Array
  segment: BigInt64Array
  items: BigInt64Array
}

/** Options of {@link exportTextTower}. */
export interface ExportTextTowerOptions {
  /** Graph name (default 'simsage_text_tower'). */
  name?: string
  /** metadata_props written into the model. */
  metadata?: Record<string, string>
}

/**
 * Exports a text tower: inputs a, b, q, segment int64 [N] and items int64 [1]; output 'embedding'
 * [n, outputDim], L2-normalised (zero rows stay zero). ERR_SIMSAGE_UNSUPPORTED for a tower with a
 * frozen input.
 */
export function exportTextTower(tower: TextTower, options: ExportTextTowerOptions = {}): ExportedModel {
  const s = tower.spec
  if (s.frozenDim > 0) {
    throw new SimsageError(
      ErrorCodes.UNSUPPORTED,
      `a text tower with a frozen input (frozenDim ${s.frozenDim}) is not exported: export the query tower`,
    )
  }
  const F = s.fields.length
  const D = s.bagDim
  const bag = tower.bag
  const t = bag.tensors()
  const g = new OnnxGraph(options.name ?? 'simsage_text_tower')
  const a = g.input('a', 'int64', ['N'])
  const b = g.input('b', 'int64', ['N'])
  const q = g.input('q', 'int64', ['N'])
  const segment = g.input('segment', 'int64', ['N'])
  const items = g.input('items', 'int64', [1])
  const lastAxis = g.int64s('tt.axis1', [1])
  const seg = g.op('Unsqueeze', [segment, lastAxis], {}, 'tt.seg')
  const S = g.op('Mul', [items, g.int64s('tt.F', [F])], {}, 'tt.segments')
  const shape = g.op('Concat', [S, g.int64s('tt.D', [D])], { axis: 0 }, 'tt.shape')
  const weights = { rows: bag.rows, dim: D, importanceRows: bag.importanceRows, eps: bag.eps, ...t }
  const y = hashBag(g, 'tt.bag', weights, { a, b, q, seg, shape })
  // present[s] = min(tokens in s, 1): a segment with no tokens (an empty field) adds nothing, as in
  // TextTower.forward (its layer norm alone would give beta).
  const tokOnes = g.op(
    'Add',
    [
      g.op('ConstantOfShape', [g.op('Shape', [seg], {}, 'tt.segShape')], {}, 'tt.tokZeros'),
      g.initializer('tt.onef', Float32Array.of(1), []),
    ],
    {},
    'tt.tokOnes',
  )
  const countShape = g.op('Concat', [S, g.int64s('tt.one', [1])], { axis: 0 }, 'tt.countShape')
  const zeros1 = g.op('ConstantOfShape', [countShape], {}, 'tt.countZeros')
  const count = g.op('ScatterND', [zeros1, seg, tokOnes], { reduction: 'add' }, 'tt.count')
  const present = g.op('Min', [count, g.initializer('tt.onef2', Float32Array.of(1), [])], {}, 'tt.present')
  const masked = g.op('Mul', [y, present], {}, 'tt.masked')
  const perItem = g.op('Reshape', [masked, g.int64s('tt.itemShape', [-1, F, D])], {}, 'tt.perItem')
  const pooled = g.op('ReduceSum', [perItem, lastAxis], { keepdims: 0 }, 'tt.pooled')
  const z = exportModule(g, tower.mlp, { name: pooled, dims: ['n', D] }, 'tt.mlp')
  const e = l2Normalize(g, 'tt.l2', z.name, 1e-12)
  g.output(e, 'float32', ['n', s.outputDim], 'embedding')
  return finishExport('searchsage', g, {
    metadata: { format: 'simsage-text-tower', tower: JSON.stringify(s), ...(options.metadata ?? {}) },
  })
}

/**
 * The exported tower's inputs for `texts` (one array per field, item-major as FieldFeatures takes
 * them; a single-field tower may take the texts directly), featurised and hashed by simsage.
 */
export function textTowerOnnxInputs(
  tower: TextTower,
  texts: readonly string[] | readonly (readonly string[])[],
): TextTowerOnnxInputs {
  const perField = (
    typeof texts[0] === 'string' || texts.length === 0 ? [texts] : texts
  ) as readonly (readonly string[])[]
  if (perField.length !== tower.spec.fields.length) {
    throw new SimsageError(
      ErrorCodes.DIM_MISMATCH,
      `${perField.length} fields of texts; the tower has ${tower.spec.fields.length} (${tower.spec.fields.join(', ')})`,
    )
  }
  const feats = new FieldFeatures(tower.bag, perField)
  const n = perField[0].length
  const g = feats.gather(Int32Array.from({ length: n }, (_, i) => i))
  const r = tower.bag.tokenRows(g.features)
  const wide = (x: Int32Array) => BigInt64Array.from(x, (v) => BigInt(v))
  return {
    a: wide(r.a),
    b: wide(r.b),
    q: wide(r.importance),
    segment: wide(r.segment),
    items: BigInt64Array.of(BigInt(n)),
  }
}

/** `simsage export --model searchsage`: the query tower of a searchsage checkpoint. */
export const searchsageExporter: CheckpointExporter = {
  model: 'searchsage',
  formats: [SEARCHSAGE_FORMAT],
  description:
    'the searchsage query tower (token rows a, b, q, segment [N] + items [1] → embedding [n, D], L2-normalised)',
  async fromCheckpoint(path) {
    const m = await loadSearchSage(path)
    try {
      return exportTextTower(m.query, { name: 'simsage_searchsage_query' })
    } finally {
      m.query.bag.dispose()
      m.entity.bag.dispose()
    }
  },
}
