/**
 * JSON Lines (internal): one JSON value per line of a plain or gzip file (lib/io/text-lines.ts).
 * Blank lines are skipped; a line that is not valid JSON → MALFORMED_INPUT naming the file and the
 * line number. Lines longer than {@link MAX_JSONL_LINE} characters are rejected before parsing.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { textLines } from '../io/text-lines.js'
import { describe } from '../validate.js'

/** The longest line accepted (UTF-16 units): 16 Mi. */
export const MAX_JSONL_LINE = 1 << 24

/** One parsed line and its 1-based line number. */
export interface JsonlRecord {
  line: number
  value: unknown
}

/** A MALFORMED_INPUT error naming the file and the line. */
export function jsonlError(path: string, line: number, what: string): SimsageError {
  return new SimsageError(ErrorCodes.MALFORMED_INPUT, `${path}:${line}: ${what}`)
}

/** An id field of a JSONL object: a non-empty string, or a finite number (as its string). */
export function jsonlId(v: unknown, path: string, line: number, field: string): string {
  if (typeof v === 'string' && v.length > 0) return v
  if (typeof v === 'number' && Number.isFinite(v)) return String(v)
  throw jsonlError(path, line, `"${field}" must be a non-empty string or a finite number, got ${describe(v)}`)
}

/** Yields the parsed lines of `path`, a chunk at a time. */
export async function* jsonlRecords(path: string, action = 'read JSONL'): AsyncGenerator<JsonlRecord[]> {
  for await (const lines of textLines(path, action)) {
    const out: JsonlRecord[] = []
    for (const { line, text } of lines) {
      if (text.trim() === '') continue
      if (text.length > MAX_JSONL_LINE) throw jsonlError(path, line, `line longer than ${MAX_JSONL_LINE} characters`)
      let value: unknown
      try {
        value = JSON.parse(text)
      } catch (e) {
        throw jsonlError(path, line, `not valid JSON (${(e as Error).message})`)
      }
      out.push({ line, value })
    }
    if (out.length > 0) yield out
  }
}
