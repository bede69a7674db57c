/**
 * The list of checkpoint exporters and {@link exportCheckpoint}, which picks one from the
 * checkpoint's safetensors metadata.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { checkPath } from '../io/fs.js'
import { parseSafetensorsHeader, readSafetensorsFile } from '../io/safetensors.js'
import type { CheckpointExporter, ExportedModel } from './checkpoint.js'
import { rankingExporter } from './export-ranking.js'
import { searchsageExporter } from './export-text.js'
import { hierTcnExporter } from './export-tcn.js'

/** Every checkpoint exporter, in `--help` order. */
export const checkpointExporters: readonly CheckpointExporter[] = [rankingExporter, hierTcnExporter, searchsageExporter]

/** Options of {@link exportCheckpoint}. */
export interface ExportCheckpointOptions {
  /** The model to export (an exporter's `model`); default: the one that reads the checkpoint's format. */
  model?: string
}

/**
 * Exports the model of a simsage checkpoint to ONNX, choosing the exporter by the checkpoint's
 * metadata `format`. ERR_SIMSAGE_UNSUPPORTED for a format no exporter reads; ERR_SIMSAGE_INVALID_ARGUMENT
 * for an unknown `model` or one that does not read this checkpoint; the loaders' ERR_SIMSAGE_CORRUPT_FILE,
 * ERR_SIMSAGE_NOT_FOUND and ERR_SIMSAGE_IO otherwise.
 */
export async function exportCheckpoint(path: string, options: ExportCheckpointOptions = {}): Promise<ExportedModel> {
  checkPath(path, 'checkpoint')
  const known = checkpointExporters.map((e) => e.model)
  if (options.model !== undefined && !known.includes(options.model)) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `unknown model ${JSON.stringify(options.model)}: one of ${known.join(', ')}`,
    )
  }
  const { metadata } = parseSafetensorsHeader(await readSafetensorsFile(path), path)
  const format = metadata.format
  const readers = checkpointExporters.filter((e) => e.formats.includes(format))
  if (readers.length === 0) {
    const formats = checkpointExporters.flatMap((e) => e.formats).join(', ')
    throw new SimsageError(
      ErrorCodes.UNSUPPORTED,
      `${path}: checkpoint format ${JSON.stringify(format ?? null)} has no ONNX exporter (exportable: ${formats})`,
    )
  }
  const exporter = options.model === undefined ? readers[0] : readers.find((e) => e.model === options.model)
  if (!exporter) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `${path} is a ${format} checkpoint; --model ${options.model} does not read it (use ${readers.map((e) => e.model).join(' or ')})`,
    )
  }
  return exporter.fromCheckpoint(path)
}
