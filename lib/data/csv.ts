/**
 * Streaming CSV records (internal): opens a regular file through lib/io/fs.ts, gunzips it when it
 * starts with the gzip magic bytes (whatever its name), decodes strict UTF-8 and yields one record
 * per CSV row with the line number the row starts on. Memory is bounded by one chunk plus one row.
 *
 * Fields follow RFC 4180: separated by commas; a field may be quoted with `"`, and inside quotes a
 * comma, a line break or a doubled `""` (one quote) are data. A quote inside an unquoted field, text
 * after a closing quote, or a quote still open at the end of the file are MALFORMED_INPUT. Lines
 * end with LF or CRLF; a UTF-8 byte-order mark at the start is dropped.
 */
import type { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'

import { ErrorCodes, SimsageError } from '../errors.js'
import { fsError, openRegular, readExactly } from '../io/fs.js'

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

/** Opens `path` as a byte stream, gunzipped when it starts with 1f 8b; `close` releases everything. */
async function openStream(path: string, action: string): Promise<{ stream: Readable; close: () => void }> {
  const f = await openRegular(path, action)
  let gzip = false
  try {
    if (f.size >= 2) {
      const magic = Buffer.alloc(2)
      await readExactly(f, magic, 0, 2, 0)
      gzip = magic[0] === 0x1f && magic[1] === 0x8b
    }
  } catch (e) {
    await f.fh.close().catch(() => {})
    throw e
  }
  const raw = f.fh.createReadStream({ start: 0, autoClose: true, highWaterMark: 1 << 16 })
  if (!gzip) return { stream: raw, close: () => raw.destroy() }
  const gunzip = createGunzip()
  raw.on('error', (e) => gunzip.destroy(e))
  raw.pipe(gunzip)
  return {
    stream: gunzip,
    close: () => {
      raw.unpipe(gunzip)
      gunzip.destroy()
      raw.destroy()
    },
  }
}

/** A stream error as a coded error: zlib's → CORRUPT_FILE, file-system's → via fsError. */
function streamError(e: unknown, path: string, action: string): SimsageError {
  if (e instanceof SimsageError) return e
  const code = (e as NodeJS.ErrnoException | undefined)?.code ?? ''
  if (code.startsWith('Z_') || code === 'ERR_ZLIB_INITIALIZATION_FAILED') {
    return new SimsageError(
      ErrorCodes.CORRUPT_FILE,
      `cannot ${action} ${path}: corrupt or truncated gzip data (${(e as Error).message})`,
      { cause: e },
    )
  }
  return fsError(e, path, action)
}

/**
 * Yields the CSV rows of `path` (plain or gzip), a chunk's worth of rows at a time (one promise per
 * chunk, not per row). Blank lines (empty or only spaces/tabs) come as `fields: null` so the caller
 * can count them. The file is closed when the iteration ends, also when the caller stops early or
 * an error is thrown.
 */
export async function* csvRecords(path: string, action = 'read CSV'): AsyncGenerator<CsvRecord[]> {
  const { stream, close } = await openStream(path, action)
  const decoder = new TextDecoder('utf-8', { fatal: true })
  let line = 0
  let rest = ''
  // A row whose quoted field spans lines: the text so far and the line it started on.
  let open: string | undefined
  let openLine = 0
  const emit = (text: string, out: CsvRecord[]): void => {
    line++
    if (text.charCodeAt(text.length - 1) === 13 /* \r */) text = text.slice(0, -1)
    if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1)
    let start = line
    if (open !== undefined) {
      text = `${open}\n${text}`
      start = openLine
    } else if (BLANK.test(text)) {
      out.push({ line, fields: null })
      return
    }
    const fields = splitCsvRow(text, path, start)
    if (fields === undefined) {
      if (text.length > MAX_ROW_CHARS) {
        throw malformed(path, start, `a quoted field runs past ${MAX_ROW_CHARS} characters (a quote not closed?)`)
      }
      open = text
      openLine = start
      return
    }
    open = undefined
    out.push({ line: start, fields })
  }
  try {
    const it = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]()
    for (;;) {
      let r: IteratorResult<Buffer>
      try {
        r = await it.next()
      } catch (e) {
        throw streamError(e, path, action)
      }
      let text: string
      try {
        text = decoder.decode(r.done ? undefined : r.value, { stream: !r.done })
      } catch (e) {
        throw malformed(path, line + 1, `not valid UTF-8 text (${(e as Error).message})`)
      }
      text = rest + text
      const out: CsvRecord[] = []
      let from = 0
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
        emit(text.slice(from, nl), out)
        from = nl + 1
      }
      rest = text.slice(from)
      if (r.done && rest.length > 0) emit(rest, out)
      if (out.length > 0) yield out
      if (r.done) break
    }
    if (open !== undefined) throw malformed(path, openLine, 'a quoted field is not closed before the end of the file')
  } finally {
    close()
  }
}
