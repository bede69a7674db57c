/**
 * Command `simsage info`: the native core's configuration as JSON.
 */
import type { Command } from 'commander'

/** Adds `info` to the program. */
export function registerInfoCommands(program: Command): void {
  program
    .command('info')
    .description('print the native core configuration (version, SIMD level, threads, backends) as JSON')
    .action(async () => {
      const { info } = await import('../info.js')
      process.stdout.write(`${JSON.stringify(info(), null, 2)}\n`)
    })
}
