/** Writes a benchmark report as JSON (atomically). */
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import writeFileAtomic from 'write-file-atomic'

/**
 * Writes `report` to `out`, or to `bench/results/<bench>-<iso-date>.json` under the current
 * directory (created if missing); returns the path written.
 */
export async function writeReport(
  report: { readonly bench: string; readonly date: string },
  out?: string,
): Promise<string> {
  const file = out ?? path.join('bench', 'results', `${report.bench}-${report.date.replace(/[:.]/g, '-')}.json`)
  await mkdir(path.dirname(path.resolve(file)), { recursive: true })
  await writeFileAtomic(file, `${JSON.stringify(report, null, 2)}\n`)
  return file
}
