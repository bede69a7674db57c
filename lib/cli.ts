#!/usr/bin/env node
/**
 * The `simsage` command line.
 *
 *   simsage info                      active SIMD level, backends, threads (JSON)
 *   simsage bench similarity [opts]   exact top-k benchmark against peer tools
 *   simsage bench mining [opts]       triplet mining benchmark against plain TS and tfjs
 *   simsage experiment ranking        every miner + the Deep Ranking sampler + raw pixels, one budget
 *   simsage train ranking / eval ranking   train a tower to a safetensors checkpoint / evaluate it
 *
 * Each command loads its implementation with a dynamic `import()` inside its action, so
 * `simsage info` never pays for the benchmark's peers.
 */
import { realpathSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { Command } from 'commander'

import { registerRankingCommands } from './train/cli-ranking.js'

const require = createRequire(import.meta.url)

/** Version from package.json (dist/lib/cli.js and lib/cli.ts are both two levels below it). */
function packageVersion(): string {
  try {
    return (require('../../package.json') as { version: string }).version
  } catch {
    return (require('../package.json') as { version: string }).version
  }
}

/** Builds the command tree; exported so tests can drive it without spawning a process. */
export function buildProgram(): Command {
  const program = new Command()
    .name('simsage')
    .description('Learn and serve embeddings in Node: exact top-k similarity, metric learning, HierTCN, OmniSearchSage')
    .version(packageVersion())

  program
    .command('info')
    .description('print the native core configuration (version, SIMD level, threads, backends) as JSON')
    .action(async () => {
      const { info } = await import('./index.js')
      process.stdout.write(JSON.stringify(info(), null, 2) + '\n')
    })

  const bench = program.command('bench').description('benchmarks against the tools you would use instead')
  bench
    .command('similarity')
    .description('exact inner-product top-k: simsage vs usearch, hnswlib-node, onnxruntime-node, a plain TS loop')
    .option('--full', 'N = 1,000,000 rows and a 3 s budget per cell (default: N = 100,000, 0.25 s)')
    .option('--n <rows>', 'corpus rows (overrides --full)')
    .option('--dim <d>', 'vector dimension', '128')
    .option('--queries <list>', 'batch sizes Q, comma-separated', '1,16,256,1024')
    .option('--k <list>', 'k values, comma-separated', '10,100')
    .option('--threads <list>', 'thread counts, comma-separated', '1,2')
    .option('--budget <seconds>', 'seconds of timed repetitions per cell (warm-up excluded)')
    .option('--max-reps <n>', 'most repetitions per cell', '7')
    .option('--seed <n>', 'data seed (queries use seed + 1)', '42')
    .option('--tools <list>', 'only tools whose name contains one of these, comma-separated')
    .option('--json', 'print the JSON report on stdout instead of tables')
    .option('--out <file>', 'JSON report path (default bench/results/similarity-<iso-date>.json under the cwd)')
    .action(async (opts: Record<string, string | boolean | undefined>) => {
      const { parseSimilarityOptions, runSimilarityBench } = await import('../bench/similarity.js')
      const { formatSimilarityReport } = await import('../bench/format.js')
      const { writeReport } = await import('../bench/report.js')
      const options = parseSimilarityOptions({
        full: opts.full === true,
        n: opts.n as string | undefined,
        dim: opts.dim as string,
        queries: opts.queries as string,
        k: opts.k as string,
        threads: opts.threads as string,
        budget: opts.budget as string | undefined,
        maxReps: opts.maxReps as string,
        seed: opts.seed as string,
        tools: opts.tools as string | undefined,
      })
      const report = await runSimilarityBench(options)
      const path = await writeReport(report, opts.out as string | undefined)
      if (opts.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n')
      else process.stdout.write(formatSimilarityReport(report) + '\n')
      process.stderr.write(`report written to ${path}\n`)
    })

  bench
    .command('mining')
    .description('pairwise distances, batch-hard and semi-hard mining: simsage vs a plain TS loop and @tensorflow/tfjs (cpu)')
    .option('--sizes <list>', 'batch sizes B, comma-separated', '256,1024,4096')
    .option('--dim <d>', 'embedding dimension', '128')
    .option('--budget <seconds>', 'seconds of timed repetitions per cell', '0.5')
    .option('--tools <list>', 'only tools whose name contains one of these, comma-separated')
    .option('--json', 'print the JSON report on stdout instead of tables')
    .option('--out <file>', 'JSON report path (default bench/results/mining-<iso-date>.json under the cwd)')
    .action(async (opts: Record<string, string | boolean | undefined>) => {
      const { runMiningBench, formatMiningReport, writeMiningReport } = await import('../bench/mining.js')
      const list = (v: unknown) => String(v).split(',').map((x) => x.trim()).filter((x) => x.length > 0)
      const report = await runMiningBench({
        sizes: list(opts.sizes).map(Number),
        dim: Number(opts.dim),
        budgetSeconds: Number(opts.budget),
        tools: opts.tools === undefined ? [] : list(opts.tools),
      })
      const path = await writeMiningReport(report, opts.out as string | undefined)
      if (opts.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n')
      else process.stdout.write(formatMiningReport(report) + '\n')
      process.stderr.write(`report written to ${path}\n`)
    })

  registerRankingCommands(program)

  // Later commands register here, one `program.command(...)` block each (or a register* function
  // per task), loading their implementation lazily like the ones above: serve, export.

  return program
}

/** True when this file is the process entry point (directly or through the npm bin link). */
function isMain(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)
  } catch {
    return false
  }
}

if (isMain()) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      process.stderr.write(`simsage: ${(err as Error).message}\n`)
      process.exitCode = 1
    })
}
