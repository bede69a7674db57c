/**
 * The retrieval tasks of a commit log (OmniSearchSage on a git history): queries are commit
 * subjects, entities are files. A file's text fields are its path, its folder names and the
 * subjects of the TRAINING commits that touched it (never a test commit's: no leakage). The file
 * catalog is the set of files the training commits touched; a test pair whose file is not in it
 * cannot be retrieved by any model and is counted in `unseenTestPairs`, not evaluated.
 *
 * Tasks: query → file (every (subject, file) of a commit) and query → query (subjects of two
 * different commits of one session, each pointing at the other).
 */
import type { Commit, CommitSplit } from './commits.js'
import type { EntityCatalog, SearchData, TaskPairs } from './search-data.js'

export type { TaskPairs } from './search-data.js'

/** The text fields of a file, in the entity tower's order. */
export const FILE_FIELDS = ['path', 'folders', 'subjects'] as const

/**
 * A commit log's retrieval data: a {@link SearchData} whose entities are files with the fields
 * `path` (the path), `folders` (its folder names, space-separated) and `subjects` (subjects of
 * the training commits that touched it, oldest first), whose `queryField` is `subjects` and
 * whose query catalog is the distinct subjects.
 */
export type CommitSearchData = SearchData

/** The file catalog of a commit log (a {@link SearchData}'s entities). */
export type FileEntities = EntityCatalog

function folderNames(path: string): string {
  const parts = path.split('/')
  return parts.slice(0, -1).join(' ')
}

function pairs(): { queries: string[]; entity: number[] } {
  return { queries: [], entity: [] }
}

/** Session → query pairs: each subject of a session with every other distinct subject of it. */
function sessionPairs(commits: readonly Commit[], lookup: (s: string) => number | undefined) {
  const out = pairs()
  const bySession = new Map<string, string[]>()
  for (const c of commits) {
    const key = `${c.user}\u0000${c.session}`
    const list = bySession.get(key)
    if (list) list.push(c.subject)
    else bySession.set(key, [c.subject])
  }
  for (const list of bySession.values()) {
    const distinct = [...new Set(list)]
    for (const a of distinct)
      for (const b of distinct) {
        if (a === b) continue
        const e = lookup(b)
        if (e === undefined) continue
        out.queries.push(a)
        out.entity.push(e)
      }
  }
  return out
}

/** Builds the catalog, the text fields and the pairs of both tasks from a time split. */
export function commitSearchData(split: CommitSplit): SearchData {
  const ids: string[] = []
  const index = new Map<string, number>()
  const subjectsOf: string[][] = []
  const trainFile = pairs()
  for (const c of split.train) {
    for (const item of new Set(c.items)) {
      let e = index.get(item)
      if (e === undefined) {
        e = ids.length
        index.set(item, e)
        ids.push(item)
        subjectsOf.push([])
      }
      subjectsOf[e].push(c.subject)
      trainFile.queries.push(c.subject)
      trainFile.entity.push(e)
    }
  }
  const popularity = new Uint32Array(ids.length)
  for (const e of trainFile.entity) popularity[e]++

  const testFile = pairs()
  let unseen = 0
  for (const c of split.test) {
    for (const item of new Set(c.items)) {
      const e = index.get(item)
      if (e === undefined) {
        unseen++
        continue
      }
      testFile.queries.push(c.subject)
      testFile.entity.push(e)
    }
  }

  // Query entities: the distinct training subjects; a test query's positive is added to the
  // catalog so it can be retrieved (its text is the subject itself, known at query time).
  const subjectIds: string[] = []
  const subjectIndex = new Map<string, number>()
  const addSubject = (s: string): number => {
    let e = subjectIndex.get(s)
    if (e === undefined) {
      e = subjectIds.length
      subjectIndex.set(s, e)
      subjectIds.push(s)
    }
    return e
  }
  for (const c of split.train) addSubject(c.subject)
  const trainQuery = sessionPairs(split.train, (s) => subjectIndex.get(s))
  const testQuery = sessionPairs(split.test, addSubject)

  const asTask = (p: { queries: string[]; entity: number[] }): TaskPairs => ({
    queries: p.queries,
    entity: Int32Array.from(p.entity),
  })
  return {
    entities: {
      ids,
      index,
      fields: [
        { name: 'path', values: ids.map((p) => [p]) },
        { name: 'folders', values: ids.map((p) => [folderNames(p)]) },
        { name: 'subjects', values: subjectsOf },
      ],
      popularity,
    },
    queryField: 'subjects',
    queries: { ids: subjectIds, index: subjectIndex },
    train: { entity: asTask(trainFile), query: asTask(trainQuery) },
    test: { entity: asTask(testFile), query: asTask(testQuery) },
    unseenTestPairs: unseen,
  }
}
