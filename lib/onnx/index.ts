/**
 * ONNX: export simsage models to ONNX (opset 17) and run ONNX models as embedding encoders through
 * onnxruntime-node (an optional peer dependency, loaded on first use).
 */
export type { CheckpointExporter, ExportedModel } from './checkpoint.js'
export {
  OnnxEncoder,
  type GraphOptimization,
  type OnnxEmbeddings,
  type OnnxEncoderOptions,
  type OnnxInput,
  type OnnxInputType,
} from './encoder.js'
export { exportRankingTower, exportSequential, type ExportSequentialOptions } from './export-ranking.js'
export { exportTCN, type ExportTCNOptions } from './export-tcn.js'
export {
  type ExportTextTowerOptions,
  exportTextTower,
  type TextTowerOnnxInputs,
  textTowerOnnxInputs,
} from './export-text.js'
export { checkpointExporters, exportCheckpoint, type ExportCheckpointOptions } from './exporters.js'
export {
  OnnxGraph,
  type OnnxAttribute,
  type OnnxDim,
  type OnnxElementType,
  type OnnxModelInfo,
  type OnnxTensorInfo,
} from './graph.js'
export { exportModule, registerModuleExporter, type ModuleExporter, type OnnxValue } from './modules.js'
export { OPSET as ONNX_OPSET } from './proto.js'
