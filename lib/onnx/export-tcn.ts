/**
 * simsage's {@link TCN} (lib/temporal/tcn.ts), full sequence, as ONNX, in the layout simsage takes:
 *
 *   x[batch, steps, C_in] → Transpose → [batch, C_in, steps] → residual blocks (Pad + dilated Conv,
 *   Relu, 1×1 Conv or identity residual, Add, Relu) → Transpose → y[batch, steps, C_out]
 *
 * and, with a head Linear (HierTCN's), p[batch, steps, D] = y Wᵀ + b. batch and steps are dynamic.
 * The HierTCN low level reads x = [item projection (D), user state (H)] per position.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import type { Linear } from '../nn/layers.js'
import type { Parameter } from '../nn/module.js'
import { TCN } from '../temporal/tcn.js'
import { loadHierTCN } from '../train/hiertcn-checkpoint.js'
import { type CheckpointExporter, type ExportedModel, finishExport } from './checkpoint.js'
import { OnnxGraph } from './graph.js'
import { linearLast, transpose } from './ops.js'
import { type ConvWeights, type TcnBlockWeights, tcnBlock } from './ops-temporal.js'

/** Options of {@link exportTCN}. */
export interface ExportTCNOptions {
  /** A Linear [C_out → D] applied at every position; adds output 'p' [batch, steps, D]. */
  head?: Linear
  /** metadata_props written into the model. */
  metadata?: Record<string, string>
}

/** The TCN's blocks as conv weights, from its stably named parameters. */
export function tcnBlockWeights(tcn: TCN): TcnBlockWeights[] {
  const params = new Map<string, Parameter>(tcn.parameters().map((p) => [p.name, p]))
  const get = (n: string): Float32Array => {
    const p = params.get(n)
    if (!p) throw new SimsageError(ErrorCodes.INTERNAL, `TCN parameter ${n} not found`)
    return p.data
  }
  let inC = tcn.inputSize
  return tcn.channels.map((out, i) => {
    const p = `blocks.${i}.`
    const conv = (which: string, cin: number): ConvWeights => ({
      inChannels: cin,
      outChannels: out,
      kernelSize: tcn.kernelSize,
      dilation: tcn.dilations[i],
      weight: get(`${p}${which}.weight`),
      bias: get(`${p}${which}.bias`),
    })
    const block: TcnBlockWeights = {
      conv1: conv('conv1', inC),
      conv2: conv('conv2', out),
      downsample: params.has(`${p}downsample.weight`)
        ? { weight: get(`${p}downsample.weight`), bias: get(`${p}downsample.bias`) }
        : undefined,
    }
    inC = out
    return block
  })
}

/**
 * Exports a TCN (eval mode: dropout is the identity): input 'x' [batch, steps, inputSize], output
 * 'y' [batch, steps, outputSize], and 'p' [batch, steps, head.outFeatures] with a head.
 */
export function exportTCN(tcn: TCN, options: ExportTCNOptions = {}): ExportedModel {
  if (!(tcn instanceof TCN)) throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'exportTCN: tcn must be a TCN')
  const head = options.head
  if (head && head.inFeatures !== tcn.outputSize) {
    throw new SimsageError(
      ErrorCodes.DIM_MISMATCH,
      `exportTCN: the head takes ${head.inFeatures} features, the TCN gives ${tcn.outputSize}`,
    )
  }
  const g = new OnnxGraph('simsage_tcn')
  const x = g.input('x', 'float32', ['batch', 'steps', tcn.inputSize])
  let h = transpose(g, x, [0, 2, 1], 'to_channels_first')
  tcnBlockWeights(tcn).forEach((b, i) => {
    h = tcnBlock(g, `blocks.${i}`, h, b)
  })
  const y = transpose(g, h, [0, 2, 1], 'to_channels_last')
  g.output(y, 'float32', ['batch', 'steps', tcn.outputSize], 'y')
  if (head) {
    const p = linearLast(g, 'head', 'y', head.weight.data, head.bias?.data, head.outFeatures, head.inFeatures)
    g.output(p, 'float32', ['batch', 'steps', head.outFeatures], 'p')
  }
  return finishExport('tcn', g, { metadata: options.metadata })
}

/** `simsage export --model tcn`: the low level (TCN + head) of a HierTCN checkpoint (`train hiertcn`). */
export const hierTcnExporter: CheckpointExporter = {
  model: 'tcn',
  formats: ['simsage-hiertcn'],
  description:
    "HierTCN's low level, full sequence (x [batch, steps, D + H] → y [batch, steps, C], p = head(y) [batch, steps, D])",
  async fromCheckpoint(path) {
    const { model } = await loadHierTCN(path)
    const { embeddingDim, userHidden } = model.spec
    return exportTCN(model.tcn, {
      head: model.head,
      metadata: {
        format: 'simsage-hiertcn-tcn',
        spec: JSON.stringify(model.spec),
        input: `x = [item projection (${embeddingDim}), user state (${userHidden})] per position`,
      },
    })
  },
}
