/**
 * The training data of query → entity retrieval (OmniSearchSage), whatever its source: a catalog
 * of entities with named text fields, the query catalog, and (query, entity) and (query, query)
 * pairs for training and testing. Two loaders build it: a git commit log (lib/data/commit-search.ts:
 * files with `path`, `folders`, `subjects`) and the user's JSONL files (lib/data/search-jsonl.ts:
 * the user's field names). The trainer (lib/train/searchsage.ts) and the evaluation read only this.
 *
 * Every field holds, per entity, a list of texts, oldest first: a plain text is a list of one, an
 * absent field an empty list. An entity's text for a field is its most recent `maxList` texts
 * joined by ' | ' (for a plain text: the text itself).
 */

/** Pairs of a task: query text i retrieves entity `entity[i]`. */
export interface TaskPairs {
  queries: string[]
  entity: Int32Array
}

/** One named text field of a catalog: `values[e]` the texts of entity e, oldest first. */
export interface EntityField {
  name: string
  values: string[][]
}

/** The entity catalog: ids, optional types, text fields. */
export interface EntityCatalog {
  /** Entity ids (as strings), in catalog order. */
  ids: string[]
  index: Map<string, number>
  /** Entity type per entity ('' for none); absent when no entity has a type. */
  types?: string[]
  /** The text fields, in the entity tower's order. */
  fields: EntityField[]
  /** Training (query, entity) pairs per entity. */
  popularity: Uint32Array
}

/** Everything searchsage training and evaluation read. */
export interface SearchData {
  entities: EntityCatalog
  /**
   * The field whose texts are earlier queries of the entity (commit logs: `subjects`), if any: in
   * training, a pair's own query is left out of its positive's texts of this field.
   */
  queryField?: string
  /** Distinct query texts: the entities of the query → query task; holds every training query. */
  queries: { ids: string[]; index: Map<string, number> }
  train: { entity: TaskPairs; query: TaskPairs }
  /** Held-out pairs (empty when the source has none). */
  test: { entity: TaskPairs; query: TaskPairs }
  /** Test (query, entity) pairs dropped because the entity is not in the catalog. */
  unseenTestPairs: number
}

/** Joins the most recent `maxList` texts of a field value. */
export function fieldText(values: readonly string[], maxList: number): string {
  return values.length === 1 ? values[0] : values.slice(-maxList).join(' | ')
}

/** The catalog's fields named `names`, in that order (the caller checked the names exist). */
function pick(catalog: EntityCatalog, names: readonly string[]): EntityField[] {
  return names.map((n) => catalog.fields.find((f) => f.name === n) as EntityField)
}

/** The texts of fields `names` of every entity: one array per field, one text per entity. */
export function entityFieldTexts(catalog: EntityCatalog, names: readonly string[], maxList: number): string[][] {
  return pick(catalog, names).map((f) => f.values.map((v) => fieldText(v, maxList)))
}

/**
 * The texts of fields `names` of entities `ids`, where field `queryField` leaves out `exclude[i]`
 * (the training pair's own query): a pair must not find its query verbatim in its positive's text,
 * or the towers learn to copy text, which does not carry over to new queries.
 */
export function entityFieldTextsExcluding(
  catalog: EntityCatalog,
  names: readonly string[],
  maxList: number,
  ids: ArrayLike<number>,
  queryField: string | undefined,
  exclude: readonly string[],
): string[][] {
  return pick(catalog, names).map((f) =>
    Array.from(ids, (e, i) =>
      f.name === queryField
        ? f.values[e]
            .filter((x) => x !== exclude[i])
            .slice(-maxList)
            .join(' | ')
        : fieldText(f.values[e], maxList),
    ),
  )
}
