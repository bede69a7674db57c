/**
 * The ranking tower (lib/models/ranking-tower.ts) as ONNX: x[batch, inputDim] float32 →
 * Gemm/Relu ... Gemm → ReduceL2/Max/Div (L2Normalize) → embedding[batch, embeddingDim].
 * Any {@link Sequential} of registered layers exports the same way ({@link exportSequential}).
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { loadTower, type TowerSpec } from '../models/ranking-tower.js'
import { Sequential } from '../nn/sequential.js'
import { type CheckpointExporter, type ExportedModel, finishExport } from './checkpoint.js'
import { OnnxGraph } from './graph.js'
import { exportModule } from './modules.js'

/** Options of {@link exportSequential}. */
export interface ExportSequentialOptions {
  /** Graph input name (default 'x'). */
  input?: string
  /** Graph output name (default 'embedding'). */
  output?: string
  /** Graph name (default 'simsage_sequential'). */
  name?: string
  /** metadata_props written into the model. */
  metadata?: Record<string, string>
}

/**
 * Exports a {@link Sequential} of registered layers (Linear, ReLU, L2Normalize, LayerNorm, nested
 * Sequential) taking rows of `inputDim` features: input [batch, inputDim] float32 (batch dynamic),
 * output [batch, outputDim]. Returns the model bytes and signature.
 */
export function exportSequential(
  model: Sequential,
  inputDim: number,
  options: ExportSequentialOptions = {},
): ExportedModel {
  if (!(model instanceof Sequential)) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'exportSequential: model must be a Sequential')
  }
  if (!Number.isInteger(inputDim) || inputDim < 1) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `inputDim must be a positive integer, got ${inputDim}`)
  }
  const g = new OnnxGraph(options.name ?? 'simsage_sequential')
  const x = g.input(options.input ?? 'x', 'float32', ['batch', inputDim])
  const y = exportModule(g, model, { name: x, dims: ['batch', inputDim] }, 'layers')
  g.output(y.name, 'float32', y.dims, options.output ?? 'embedding')
  return finishExport('sequential', g, { metadata: options.metadata })
}

/** Exports a ranking tower of `spec` (input 'x' [batch, inputDim], output 'embedding' [batch, embeddingDim]). */
export function exportRankingTower(model: Sequential, spec: TowerSpec): ExportedModel {
  const out = exportSequential(model, spec.inputDim, {
    name: 'simsage_ranking_tower',
    metadata: { format: 'simsage-ranking-tower', tower: JSON.stringify(spec) },
  })
  return { ...out, model: 'ranking' }
}

/** `simsage export --model ranking`: a checkpoint written by `saveTower` / `train ranking`. */
export const rankingExporter: CheckpointExporter = {
  model: 'ranking',
  formats: ['simsage-ranking-tower'],
  description: 'the Deep Ranking tower (x [batch, inputDim] → embedding [batch, embeddingDim], L2-normalised)',
  async fromCheckpoint(path) {
    const { model, spec } = await loadTower(path)
    return exportRankingTower(model, spec)
  },
}
