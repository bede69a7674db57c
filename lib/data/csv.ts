/**
 * Streaming CSV records (internal): the lines of a plain or gzip file (lib/io/text-lines.ts: strict
 * UTF-8, line numbers) joined into one record per CSV row with the line number the row starts on.
 * Memory is bounded by one chunk plus one row.
 *
 * Fields follow RFC 4180: separated by commas; a field may be quoted with `"`, and inside quotes a
 * comma, a line break or a doubled `""` (one quote) are data. A quote inside an unquoted field, text
 * after a closing quote, or a quote still open at the end of the file are MALFORMED_INPUT. Lines
 * end with LF or CRLF; a UTF-8 byte-order mark at the start is dropped.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { textLines } from '../io/text-lines.js'

/** The longest row (in UTF-16 units) accepted while a quoted field spans lines: 1 Mi. */
const MAX_ROW_CHARS = 1 << 20
const BLANK = /^[ \t]*$/

/** One CSV row: its fields, or `null` for a blank line; `line` is the 1-based line it starts on. */
export interface CsvRecord {
  line: number
  fields: string[] | null
}

/** A MALFORMED_INPUT error naming the source and the line. */
export function malformed(path: string, line: number, what: string): SimsageError {
  return new SimsageError(ErrorCodes.MALFORMED_INPUT, `${path}:${line}: ${what}`)
}

/**
 * Splits one CSV row into fields. Returns `undefined` when a quoted field is still open at the end
 * of `text` (the row continues on the next line); throws MALFORMED_INPUT on a stray quote.
 */
export function splitCsvRow(text: string, path: string, line: number): string[] | undefined {
  if (text.indexOf('"') < 0) return text.split(',')
  const fields: string[] = []
  let i = 0
  for (;;) {
    if (text.charCodeAt(i) === 34 /* " */) {
      let value = ''
      let j = i + 1
      for (;;) {
        const k = text.indexOf('"', j)
        if (k < 0) return undefined
        value += text.slice(j, k)
        if (text.charCodeAt(k + 1) === 34) {
          value += '"'
          j = k + 2
          continue
        }
        i = k + 1
        break
      }
      fields.push(value)
      if (i === text.length) return fields
      if (text.charCodeAt(i) !== 44 /* , */) {
        throw malformed(path, line, `text after a closing quote in field ${fields.length}`)
      }
      i++
    } else {
      const k = text.indexOf(',', i)
      const value = k < 0 ? text.slice(i) : text.slice(i, k)
      if (value.indexOf('"') >= 0) {
        throw malformed(path, line, `a quote inside unquoted field ${fields.length + 1} (quote the whole field)`)
      }
      fields.push(value)
      if (k < 0) return fields
      i = k + 1
    }
  }
}

/**
 * Yields the CSV rows of `path` (plain or gzip), a chunk's worth of rows at a time (one promise per
 * chunk, not per row). Blank lines (empty or only spaces/tabs) come as `fields: null` so the caller
 * can count them. The file is closed when the iteration ends, also when the caller stops early or
 * an error is thrown.
 */
export async function* csvRecords(path: string, action = 'read CSV'): AsyncGenerator<CsvRecord[]> {
  // A row whose quoted field spans lines: the text so far and the line it started on.
  let open: string | undefined
  let openLine = 0
  for await (const lines of textLines(path, action)) {
    const out: CsvRecord[] = []
    for (const { line, text: raw } of lines) {
      let text = raw
      let start = line
      if (open !== undefined) {
        text = `${open}\n${text}`
        start = openLine
      } else if (BLANK.test(text)) {
        out.push({ line, fields: null })
        continue
      }
      const fields = splitCsvRow(text, path, start)
      if (fields === undefined) {
        if (text.length > MAX_ROW_CHARS) {
          throw malformed(path, start, `a quoted field runs past ${MAX_ROW_CHARS} characters (a quote not closed?)`)
        }
        open = text
        openLine = start
        continue
      }
      open = undefined
      out.push({ line: start, fields })
    }
    if (out.length > 0) yield out
  }
  if (open !== undefined) throw malformed(path, openLine, 'a quoted field is not closed before the end of the file')
}
