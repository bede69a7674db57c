/**
 * The `simsage` command line, built from registrars: each command family is one module exporting a
 * {@link Registrar} that adds its commands to the program. lib/ holds the library's own families
 * ({@link libRegistrars}); the bin entry (bin/simsage.ts) adds the benchmarks' registrar from bench/,
 * which lib/ never imports.
 *
 *   simsage info                      active SIMD level, backends, threads (JSON)
 *   simsage experiment ranking        every miner + the Deep Ranking sampler + raw pixels, one budget
 *   simsage train ranking / eval ranking   train a tower to a safetensors checkpoint / evaluate it
 *   simsage experiment hiertcn        HierTCN, TCN-only, GRU-only, co-occurrence, most-popular, one budget
 *   simsage train hiertcn / eval hiertcn   train HierTCN to a checkpoint (+ item index) / evaluate it
 *   simsage experiment searchsage     OmniSearchSage unified, per-task, ablations, TF-IDF, one budget
 *   simsage export                    a checkpoint → an ONNX model (the ranking tower, HierTCN's TCN)
 *   simsage serve                     the HTTP service (search, embed, events, recommend, metrics)
 *
 * A registrar loads its implementation with a dynamic `import()` inside each action, so
 * `simsage info` never pays for training code or a benchmark's peers.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import { Command } from 'commander'

import { packageRoot } from '../native/binding.js'
import { registerExportCommands } from './export.js'
import { registerHierTCNCommands } from './hiertcn.js'
import { registerInfoCommands } from './info.js'
import { registerRankingCommands } from './ranking.js'
import { registerServeCommands } from './serve.js'
import { registerSearchSageCommands } from './searchsage.js'

/** Adds one family of commands to the program. */
export type Registrar = (program: Command) => void

/** The library's own command families, in help order. */
export const libRegistrars: readonly Registrar[] = [
  registerInfoCommands,
  registerRankingCommands,
  registerHierTCNCommands,
  registerSearchSageCommands,
  registerExportCommands,
  registerServeCommands,
]

/** Builds the command tree from `registrars`; exported so tests can drive it without spawning a process. */
export function buildProgram(registrars: readonly Registrar[] = libRegistrars): Command {
  const version = (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version
  const program = new Command()
    .name('simsage')
    .description(
      'Learn and serve embeddings in Node: exact top-k similarity search, metric learning (Deep Ranking), next-item recommendation (HierTCN)',
    )
    .version(version)
  for (const register of registrars) register(program)
  return program
}

/** Parses `argv` with the program of `registrars`; an error becomes `simsage: <message>` and exit code 1. */
export async function runCli(registrars: readonly Registrar[], argv: readonly string[] = process.argv): Promise<void> {
  try {
    await buildProgram(registrars).parseAsync(argv as string[])
  } catch (err) {
    process.stderr.write(`simsage: ${(err as Error).message}\n`)
    process.exitCode = 1
  }
}
