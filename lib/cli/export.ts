/**
 * Command `simsage export`: a simsage checkpoint → an ONNX model (opset 17), written atomically.
 * The checkpoint's kind comes from its safetensors metadata; `--model` picks among the models a
 * checkpoint holds (and checks the kind).
 */
import type { Command } from 'commander'

type Opts = Record<string, unknown>

/** Adds `export` to the program. */
export function registerExportCommands(program: Command): void {
  program
    .command('export')
    .description('export a checkpoint (train ranking: the tower; train hiertcn: the low-level TCN + head) to ONNX')
    .requiredOption('--checkpoint <file>', 'a checkpoint written by `simsage train ranking` or `simsage train hiertcn`')
    .requiredOption('--out <file>', 'the ONNX model to write (written atomically)')
    .option(
      '--model <name>',
      "the model to export (ranking: a tower checkpoint; tcn: a HierTCN one); default: the checkpoint's kind",
    )
    .option('--json', 'print the summary as one JSON line')
    .action(async (o: Opts) => {
      const { exportCheckpoint } = await import('../onnx/exporters.js')
      const { checkPath, writeFileAtomic } = await import('../io/fs.js')
      const { OPSET } = await import('../onnx/proto.js')
      const out = checkPath(o.out, '--out')
      const exported = await exportCheckpoint(o.checkpoint as string, { model: o.model as string | undefined })
      await writeFileAtomic(out, 'write ONNX model to', (write) => write(exported.bytes))
      const summary = {
        model: exported.model,
        checkpoint: o.checkpoint,
        out,
        bytes: exported.bytes.length,
        opset: OPSET,
        inputs: exported.inputs,
        outputs: exported.outputs,
      }
      process.stdout.write(o.json ? `${JSON.stringify(summary)}\n` : `${JSON.stringify(summary, null, 2)}\n`)
    })
}
