/**
 * The checkpoint exporters behind `simsage export`: each reads one kind of simsage checkpoint
 * (recognised by its safetensors metadata `format`) and builds its ONNX model. A new model adds a
 * {@link CheckpointExporter} in its own file (`export-<model>.ts`) and one line to
 * {@link checkpointExporters}.
 */
import type { OnnxGraph, OnnxModelInfo, OnnxTensorInfo } from './graph.js'

/** An exported model: the ONNX bytes and the graph's inputs and outputs. */
export interface ExportedModel {
  /** The exporter's model name (`--model`). */
  readonly model: string
  /** Serialised ONNX model. */
  readonly bytes: Uint8Array
  readonly inputs: readonly OnnxTensorInfo[]
  readonly outputs: readonly OnnxTensorInfo[]
}

/** Reads one kind of checkpoint and exports its model. */
export interface CheckpointExporter {
  /** The name `simsage export --model` takes. */
  readonly model: string
  /** The safetensors metadata `format` values this exporter reads. */
  readonly formats: readonly string[]
  /** One line for `--help`. */
  readonly description: string
  /** Loads the checkpoint at `path` (its checks and coded errors) and builds the model. */
  fromCheckpoint(path: string): Promise<ExportedModel>
}

/** Serialises `g` into an {@link ExportedModel}. */
export function finishExport(model: string, g: OnnxGraph, info: OnnxModelInfo = {}): ExportedModel {
  const { inputs, outputs } = g.signature()
  return { model, bytes: g.toBytes(info), inputs, outputs }
}
