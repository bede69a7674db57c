/**
 * The user's own query → entity data as JSONL (plain or gzip, one object per line, blank lines
 * skipped), read into a {@link SearchData} for searchsage training:
 *   entities:     {"id": <string|number>, "type"?: "<type>", "fields": {"<name>": "<text>" | ["<text>", ...], ...}}
 *   pairs:        {"query": "<text>", "entity": <id>, "type"?: "<type>"}      (query → entity task)
 *   query pairs:  {"query": "<text>", "other": "<text>"}                       (query → query task)
 * Ids are compared as strings (17 and "17" are one entity). A field's list holds texts oldest
 * first; training keeps the most recent `maxSubjects` of it. A pair's `type`, when given, must be
 * its entity's. Query pairs are directed (`query` retrieves `other`): give both directions for a
 * symmetric relation. Every line that breaks these rules is MALFORMED_INPUT naming the file and
 * the line; so are a duplicate id, a file without records, and a field named by `fields` or
 * `queryField` that no entity has (with `fields`, an entity's other fields are not read). There are no test pairs: `test` is empty.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { checkPath } from '../io/fs.js'
import { describe } from '../validate.js'
import { jsonlError, jsonlId, jsonlRecords } from './jsonl.js'
import type { EntityCatalog, SearchData } from './search-data.js'

/** Files and choices of {@link loadSearchJsonl}. */
export interface SearchJsonlOptions {
  /** Entities JSONL. */
  entities: string
  /** (query, entity) pairs JSONL. */
  pairs: string
  /** (query, other query) pairs JSONL, optional. */
  queryPairs?: string
  /**
   * The entity fields to read, in the entity tower's order (default: every field any entity has,
   * in order of first appearance). When given, other fields are ignored; a listed field that no
   * entity has is an error.
   */
  fields?: readonly string[]
  /**
   * The list field that holds the entity's earlier queries, if any: in training, a pair's own
   * query is left out of its entity's texts of this field (as commit subjects are for files).
   */
  queryField?: string
}

function malformed(path: string, what: string): SimsageError {
  return new SimsageError(ErrorCodes.MALFORMED_INPUT, `${path}: ${what}`)
}

function objectOf(value: unknown, path: string, line: number, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw jsonlError(path, line, `expected ${what}, got ${describe(value)}`)
  }
  return value as Record<string, unknown>
}

function textOf(v: unknown, path: string, line: number, what: string): string {
  if (typeof v !== 'string' || v.trim() === '') {
    throw jsonlError(path, line, `${what} must be a non-empty string, got ${describe(v)}`)
  }
  return v
}

function typeOf(v: unknown, path: string, line: number): string | undefined {
  if (v === undefined) return undefined
  return textOf(v, path, line, '"type"')
}

/** Reads the entities file: ids, types and fields (see the file comment). */
export async function loadEntities(path: string, options: { fields?: readonly string[] } = {}): Promise<EntityCatalog> {
  const file = checkPath(path)
  const wanted = options.fields ? new Set(options.fields) : undefined
  if (options.fields && (wanted?.size !== options.fields.length || options.fields.length === 0)) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `fields must be distinct names, at least one: ${describe(options.fields)}`,
    )
  }
  const ids: string[] = []
  const index = new Map<string, number>()
  const lines: number[] = []
  const types: string[] = []
  let typed = false
  const names: string[] = options.fields ? [...options.fields] : []
  const values = new Map<string, string[][]>(names.map((n) => [n, []]))
  for await (const chunk of jsonlRecords(file, 'read entities')) {
    for (const { line, value } of chunk) {
      const o = objectOf(value, file, line, 'an entity object {"id", "fields"}')
      const id = jsonlId(o.id, file, line, 'id')
      const first = index.get(id)
      if (first !== undefined)
        throw jsonlError(file, line, `entity id ${id} appears twice (first on line ${lines[first]})`)
      const type = typeOf(o.type, file, line)
      const fields = objectOf(o.fields, file, line, '"fields" as an object of texts')
      const e = ids.length
      let any = false
      for (const [name, v] of Object.entries(fields)) {
        if (wanted && !wanted.has(name)) continue
        let list: string[]
        if (Array.isArray(v)) list = v.map((x, i) => textOf(x, file, line, `"fields"."${name}"[${i}]`))
        else list = [textOf(v, file, line, `"fields"."${name}"`)]
        let column = values.get(name)
        if (!column) {
          column = []
          values.set(name, column)
          names.push(name)
        }
        // Entities before this one lack the field: empty lists.
        while (column.length < e) column.push([])
        column.push(list)
        if (list.length > 0) any = true
      }
      if (!any) throw jsonlError(file, line, 'the entity has no text in any field')
      index.set(id, e)
      ids.push(id)
      lines.push(line)
      types.push(type ?? '')
      if (type !== undefined) typed = true
    }
  }
  if (ids.length === 0) throw malformed(file, 'holds no entities')
  for (const n of names) {
    const column = values.get(n) as string[][]
    if (column.length === 0) {
      throw malformed(file, `no entity has the field "${n}" (fields present: ${present(names, values)})`)
    }
    while (column.length < ids.length) column.push([])
  }
  return {
    ids,
    index,
    types: typed ? types : undefined,
    fields: names.map((name) => ({ name, values: values.get(name) as string[][] })),
    popularity: new Uint32Array(ids.length),
  }
}

function present(names: readonly string[], values: Map<string, string[][]>): string {
  return (
    names
      .filter((n) => (values.get(n)?.length ?? 0) > 0)
      .map((n) => `"${n}"`)
      .join(', ') || 'none'
  )
}

/** Reads (query, entity) pairs against a catalog; returns the queries and entity indices. */
export async function loadEntityPairs(
  path: string,
  catalog: EntityCatalog,
): Promise<{ queries: string[]; entity: Int32Array }> {
  const file = checkPath(path)
  const queries: string[] = []
  const entity: number[] = []
  const knownTypes = new Set(catalog.types ?? [])
  knownTypes.delete('')
  for await (const chunk of jsonlRecords(file, 'read pairs')) {
    for (const { line, value } of chunk) {
      const o = objectOf(value, file, line, 'a pair object {"query", "entity"}')
      const query = textOf(o.query, file, line, '"query"')
      const id = jsonlId(o.entity, file, line, 'entity')
      const e = catalog.index.get(id)
      if (e === undefined) throw jsonlError(file, line, `unknown entity id ${id} (not in the entities file)`)
      const type = typeOf(o.type, file, line)
      if (type !== undefined) {
        if (!knownTypes.has(type)) {
          const list = [...knownTypes].map((x) => `"${x}"`).join(', ') || 'none'
          throw jsonlError(file, line, `unknown entity type "${type}" (the entities' types: ${list})`)
        }
        const own = catalog.types?.[e] ?? ''
        if (own !== type) {
          throw jsonlError(file, line, `entity ${id} is of type ${own ? `"${own}"` : 'none'}, not "${type}"`)
        }
      }
      queries.push(query)
      entity.push(e)
    }
  }
  if (queries.length === 0) throw malformed(file, 'holds no pairs')
  return { queries, entity: Int32Array.from(entity) }
}

/** Reads (query, other) pairs. */
export async function loadQueryPairs(path: string): Promise<{ queries: string[]; others: string[] }> {
  const file = checkPath(path)
  const queries: string[] = []
  const others: string[] = []
  for await (const chunk of jsonlRecords(file, 'read query pairs')) {
    for (const { line, value } of chunk) {
      const o = objectOf(value, file, line, 'a query pair object {"query", "other"}')
      queries.push(textOf(o.query, file, line, '"query"'))
      others.push(textOf(o.other, file, line, '"other"'))
    }
  }
  if (queries.length === 0) throw malformed(file, 'holds no query pairs')
  return { queries, others }
}

/** Reads the user's entities and pairs into training data (see the file comment). */
export async function loadSearchJsonl(options: SearchJsonlOptions): Promise<SearchData> {
  const catalog = await loadEntities(options.entities, { fields: options.fields })
  const qf = options.queryField
  if (qf !== undefined && !catalog.fields.some((f) => f.name === qf)) {
    throw malformed(
      checkPath(options.entities),
      `no entity has the query field "${qf}" (fields: ${catalog.fields.map((f) => `"${f.name}"`).join(', ')})`,
    )
  }
  const pairs = await loadEntityPairs(options.pairs, catalog)
  for (const e of pairs.entity) catalog.popularity[e]++
  const qp = options.queryPairs ? await loadQueryPairs(options.queryPairs) : { queries: [], others: [] }

  // The query catalog: every distinct query text, in order of first appearance.
  const ids: string[] = []
  const index = new Map<string, number>()
  const add = (q: string): number => {
    let i = index.get(q)
    if (i === undefined) {
      i = ids.length
      index.set(q, i)
      ids.push(q)
    }
    return i
  }
  for (const q of pairs.queries) add(q)
  for (let i = 0; i < qp.queries.length; i++) add(qp.queries[i])
  const other = Int32Array.from(qp.others, add)
  const none = { queries: [], entity: new Int32Array(0) }
  return {
    entities: catalog,
    queryField: qf,
    queries: { ids, index },
    train: { entity: pairs, query: { queries: qp.queries, entity: other } },
    test: { entity: none, query: { queries: [], entity: new Int32Array(0) } },
    unseenTestPairs: 0,
  }
}
