/**
 * Command `simsage bench similarity|mining|temporal|conv2d|text|serve`: the benchmarks' registrar, added to the
 * program by the bin entry (bin/simsage.ts). Each action loads its benchmark with a dynamic `import()`, so other
 * commands never load a benchmark's peers.
 */
import type { Command } from 'commander'

type Opts = Record<string, string | boolean | undefined>

/** Comma-separated list, trimmed, empties dropped. */
const list = (v: unknown) =>
  String(v)
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0)

/** Adds `bench similarity`, `bench mining`, `bench temporal`, `bench conv2d` and `bench text` to the program. */
export function registerBenchCommands(program: Command): void {
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
    .option(
      '--precision <list>',
      'also measure EmbeddingIndex storage types (f32,bf16,f16,i8,i8-dim: i8 with per-dimension scales): recall, q/s, memory',
    )
    .option(
      '--precision-data <kind>',
      "data of the precision section: random (the run's seeded data) or fashion (Fashion-MNIST, 60k train images " +
        'as corpus, 10k test images as queries, embedded to 64-d as --fashion-embed says)',
      'random',
    )
    .option(
      '--fashion-dir <dir>',
      'Fashion-MNIST directory for --precision-data fashion',
      '../shared/data/fashion-mnist',
    )
    .option(
      '--fashion-embed <kind>',
      'tower (a ranking tower trained --fashion-epochs epochs here) or projection (a fixed seeded random projection)',
      'tower',
    )
    .option('--fashion-epochs <n>', 'training epochs of the --fashion-embed tower', '3')
    .option(
      '--out <path>',
      'JSON report: a .json file, or a directory for similarity-<iso-date>.json (default: bench/results/ in a ' +
        'simsage clone, else simsage-bench/ in the OS temporary directory; the path is printed)',
    )
    .action(async (opts: Opts) => {
      const { parseSimilarityOptions, runSimilarityBench } = await import('./similarity.js')
      const { formatPrecision, formatSimilarityReport } = await import('./format.js')
      const { writeReport } = await import('./report.js')
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
        precision: opts.precision as string | undefined,
        precisionData: opts.precisionData as string,
        fashionDir: opts.fashionDir as string,
        fashionEmbed: opts.fashionEmbed as string,
        fashionEpochs: opts.fashionEpochs as string,
      })
      const report = await runSimilarityBench(options)
      const path = await writeReport(report, opts.out as string | undefined)
      if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
      else process.stdout.write(`${await formatSimilarityReport(report)}${formatPrecision(report)}\n`)
      process.stderr.write(`report written to ${path}\n`)
    })

  bench
    .command('mining')
    .description(
      'pairwise distances, batch-hard and semi-hard mining: simsage vs a plain TS loop and @tensorflow/tfjs (cpu)',
    )
    .option('--sizes <list>', 'batch sizes B, comma-separated', '256,1024,4096,8192')
    .option('--dim <d>', 'embedding dimension', '128')
    .option('--budget <seconds>', 'seconds of timed repetitions per cell', '0.5')
    .option('--tools <list>', 'only tools whose name contains one of these, comma-separated')
    .option('--json', 'print the JSON report on stdout instead of tables')
    .option(
      '--out <path>',
      'JSON report: a .json file, or a directory for mining-<iso-date>.json (default: bench/results/ in a ' +
        'simsage clone, else simsage-bench/ in the OS temporary directory; the path is printed)',
    )
    .action(async (opts: Opts) => {
      const { runMiningBench, formatMiningReport } = await import('./mining.js')
      const { writeReport } = await import('./report.js')
      const report = await runMiningBench({
        sizes: list(opts.sizes).map(Number),
        dim: Number(opts.dim),
        budgetSeconds: Number(opts.budget),
        tools: opts.tools === undefined ? [] : list(opts.tools),
      })
      const path = await writeReport(report, opts.out as string | undefined)
      if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
      else process.stdout.write(`${formatMiningReport(report)}\n`)
      process.stderr.write(`report written to ${path}\n`)
    })

  bench
    .command('temporal')
    .description(
      'causal dilated conv1d, a residual TCN, the GRU and streaming: simsage vs onnxruntime-node and a plain TS loop',
    )
    .option('--quick', 'smoke run, well under 30 s: C = 64, T = 256, d = 1,4, GRU B = 64, tiny budgets')
    .option('--threads <list>', 'thread counts, comma-separated (simsage setThreads = onnxruntime intraOpNumThreads)')
    .option('--channels <list>', 'conv and TCN channel counts C, comma-separated (default 64,256)')
    .option('--steps <list>', 'conv and TCN sequence lengths T, comma-separated (default 256,1024)')
    .option('--dilations <list>', 'conv dilations d, comma-separated (default 1,2,4,8)')
    .option('--sections <list>', 'conv, tcn, gru, stream (default all), comma-separated')
    .option('--budget <seconds>', 'seconds of timed repetitions per cell (default 0.3, quick 0.03)')
    .option('--max-reps <n>', 'most repetitions per cell (default 5, quick 2)')
    .option('--seed <n>', 'data and weight seed', '42')
    .option(
      '--tools <list>',
      'only tools whose name contains one of these (simsage, onnxruntime, plain), comma-separated',
    )
    .option('--json', 'print the JSON report on stdout instead of tables')
    .option('--out <file>', 'JSON report path (default bench/results/temporal-<iso-date>.json under the cwd)')
    .action(async (opts: Opts) => {
      const { parseTemporalOptions, runTemporalBench } = await import('./temporal.js')
      const { formatTemporalReport } = await import('./temporal-format.js')
      const { writeReport } = await import('./report.js')
      const options = parseTemporalOptions({
        quick: opts.quick === true,
        threads: opts.threads as string | undefined,
        channels: opts.channels as string | undefined,
        steps: opts.steps as string | undefined,
        dilations: opts.dilations as string | undefined,
        sections: opts.sections as string | undefined,
        budget: opts.budget as string | undefined,
        maxReps: opts.maxReps as string | undefined,
        seed: opts.seed as string,
        tools: opts.tools as string | undefined,
      })
      const report = await runTemporalBench(options)
      const path = await writeReport(report, opts.out as string | undefined)
      if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
      else process.stdout.write(`${formatTemporalReport(report)}\n`)
      process.stderr.write(`report written to ${path}\n`)
    })
  bench
    .command('text')
    .description(
      'featurise + embed short queries (hash embedding bag): simsage vs a plain TS loop and onnxruntime-node, one thread',
    )
    .option(
      '--commits <path>',
      'commits JSONL (gzip when .gz); subjects are the queries',
      '../shared/data/symfony/commits.jsonl.gz',
    )
    .option('--queries <n>', 'number of queries', '20000')
    .option('--batch <n>', 'queries per call', '256')
    .option('--dim <d>', 'embedding dimension', '64')
    .option('--rows <n>', 'hash table rows R', '100000')
    .option('--budget <seconds>', 'seconds of timed passes per row', '1')
    .option('--max-reps <n>', 'most passes per row', '5')
    .option('--tools <list>', 'only peers whose name contains one of these (plain, onnx), comma-separated')
    .option('--json', 'print the JSON report on stdout instead of tables')
    .option('--out <path>', 'JSON report: a .json file or a directory (default bench/results/ in a simsage clone)')
    .action(async (opts: Opts) => {
      const { formatTextReport, runTextBench } = await import('./text.js')
      const { writeReport } = await import('./report.js')
      const int = (v: unknown, name: string) => {
        const n = Number(v)
        if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${String(v)}`)
        return n
      }
      const report = await runTextBench({
        commits: opts.commits as string,
        queries: int(opts.queries, '--queries'),
        batch: int(opts.batch, '--batch'),
        dim: int(opts.dim, '--dim'),
        rows: int(opts.rows, '--rows'),
        budgetSeconds: Number(opts.budget),
        maxReps: int(opts.maxReps, '--max-reps'),
        tools: opts.tools === undefined ? [] : list(opts.tools),
      })
      const path = await writeReport(report, opts.out as string | undefined)
      if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
      else process.stdout.write(`${formatTextReport(report)}\n`)
      process.stderr.write(`report written to ${path}\n`)
    })

  bench
    .command('conv2d')
    .description(
      "2-D convolution forward and forward+backward on the ConvNet tower's shapes: simsage vs onnxruntime-node",
    )
    .option('--quick', 'smoke run, a few seconds: batch 4, 1 thread, tiny budgets')
    .option('--batch <n>', 'images per call (default 128)')
    .option('--threads <list>', 'thread counts, comma-separated (simsage setThreads = onnxruntime intraOpNumThreads)')
    .option('--budget <seconds>', 'seconds of timed repetitions per cell (default 0.3, quick 0.02)')
    .option('--max-reps <n>', 'most repetitions per cell (default 5, quick 2)')
    .option('--seed <n>', 'data and weight seed', '42')
    .option('--tools <list>', 'only tools whose name contains one of these (simsage, onnxruntime), comma-separated')
    .option('--json', 'print the JSON report on stdout instead of tables')
    .option('--out <file>', 'JSON report path (default bench/results/conv2d-<iso-date>.json under the cwd)')
    .action(async (opts: Opts) => {
      const { parseConv2dBenchOptions, runConv2dBench } = await import('./conv2d.js')
      const { formatConv2dReport } = await import('./conv2d-format.js')
      const { writeReport } = await import('./report.js')
      const options = parseConv2dBenchOptions({
        quick: opts.quick === true,
        batch: opts.batch as string | undefined,
        threads: opts.threads as string | undefined,
        budget: opts.budget as string | undefined,
        maxReps: opts.maxReps as string | undefined,
        seed: opts.seed as string,
        tools: opts.tools as string | undefined,
      })
      const report = await runConv2dBench(options)
      const path = await writeReport(report, opts.out as string | undefined)
      if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
      else process.stdout.write(`${formatConv2dReport(report)}\n`)
      process.stderr.write(`report written to ${path}\n`)
    })

  bench
    .command('serve')
    .description(
      'HTTP load test on loopback (autocannon): /v1/search micro-batched vs one per request, /v1/events in-process vs Redis',
    )
    .option('--n <rows>', 'index rows', '100000')
    .option('--dim <d>', 'vector dimension', '128')
    .option('--concurrency <list>', 'connections, comma-separated', '1,16,64')
    .option('--duration <seconds>', 'seconds per cell (after a 1 s warm-up)', '3')
    .option('--items <n>', 'HierTCN catalogue size of the events cells', '10000')
    .option('--sections <list>', 'search,events', 'search,events')
    .option('--seed <n>', 'data seed', '42')
    .option('--json', 'print the JSON report on stdout instead of the table')
    .option('--out <file>', 'JSON report path (default bench/results/serve-<iso-date>.json under the cwd)')
    .action(async (opts: Opts) => {
      const { formatServeReport, runServeBench } = await import('./serve.js')
      const { writeReport } = await import('./report.js')
      const int = (v: unknown, name: string, min: number) => {
        const x = Number(v)
        if (!Number.isInteger(x) || x < min) throw new Error(`--${name} must be an integer >= ${min}`)
        return x
      }
      const sections = list(opts.sections).filter((x): x is 'search' | 'events' => x === 'search' || x === 'events')
      const report = await runServeBench({
        n: int(opts.n, 'n', 1),
        dim: int(opts.dim, 'dim', 1),
        concurrency: list(opts.concurrency).map((c) => int(c, 'concurrency', 1)),
        duration: int(opts.duration, 'duration', 1),
        items: int(opts.items, 'items', 2),
        seed: int(opts.seed, 'seed', 0),
        sections,
      })
      const path = await writeReport(report, opts.out as string | undefined)
      if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
      else process.stdout.write(`${formatServeReport(report)}\n`)
      process.stderr.write(`report written to ${path}\n`)
    })
}
