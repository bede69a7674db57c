#!/usr/bin/env node
/**
 * The `simsage` executable: the library's command registrars (lib/cli/) plus the benchmarks'
 * (bench/cli.ts). It lives outside lib/ so that lib/ never imports bench/.
 */
import { registerBenchCommands } from '../bench/cli.js'
import { registerExportCommands } from '../lib/cli/export.js'
import { registerHierTCNCommands } from '../lib/cli/hiertcn.js'
import { registerInfoCommands } from '../lib/cli/info.js'
import { runCli } from '../lib/cli/program.js'
import { registerRankingCommands } from '../lib/cli/ranking.js'
import { registerServeCommands } from '../lib/cli/serve.js'
import { registerSearchSageCommands } from '../lib/cli/searchsage.js'

await runCli([
  registerInfoCommands,
  registerBenchCommands,
  registerRankingCommands,
  registerHierTCNCommands,
  registerSearchSageCommands,
  registerExportCommands,
  registerServeCommands,
])
