/** Writes a benchmark report as JSON (atomically), where the user asked or where it says. */
import { existsSync, readFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import writeFileAtomic from 'write-file-atomic'

/**
 * `bench/results/` of the simsage source tree this file belongs to, when it runs from one (a clone:
 * `npm run bench`); undefined in an installed package, which ships no `bench/` folder.
 */
function sourceResultsDir(): string | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const pj = path.join(dir, 'package.json')
    if (existsSync(pj)) {
      try {
        if (JSON.parse(readFileSync(pj, 'utf8')).name === 'simsage') {
          const results = path.join(dir, 'bench', 'results')
          return existsSync(results) ? results : undefined
        }
      } catch {
        // keep looking
      }
    }
    const up = path.dirname(dir)
    if (up === dir) return undefined
    dir = up
  }
}

/**
 * The file a report goes to. `out` ending in `.json` is the file itself; any other `out` is a
 * directory (created if missing) that receives `<bench>-<iso-date>.json`. Without `out`: the
 * repository's `bench/results/` when the benchmark runs from a simsage clone, else a `simsage-bench`
 * folder in the OS temporary directory; never the current directory.
 */
export function reportPath(report: { readonly bench: string; readonly date: string }, out?: string): string {
  const name = `${report.bench}-${report.date.replace(/[:.]/g, '-')}.json`
  if (out !== undefined && out !== '') return out.endsWith('.json') ? path.resolve(out) : path.resolve(out, name)
  return path.join(sourceResultsDir() ?? path.join(os.tmpdir(), 'simsage-bench'), name)
}

/** Writes `report` to {@link reportPath}`(report, out)`, creating its directory; returns the path written. */
export async function writeReport(
  report: { readonly bench: string; readonly date: string },
  out?: string,
): Promise<string> {
  const file = reportPath(report, out)
  await mkdir(path.dirname(file), { recursive: true })
  await writeFileAtomic(file, `${JSON.stringify(report, null, 2)}\n`)
  return file
}
