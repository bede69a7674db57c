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

/** The file catalog and each file's text fields. */
export interface FileEntities {
  /** File paths, in order of first appearance in the training commits. */
  ids: string[]
  index: Map<string, number>
  /** The path itself, per file. */
  path: string[]
  /** The folder names of the path, space-separated, per file. */
  folders: string[]
  /** Subjects of the training commits that touched the file, oldest first, per file. */
  subjects: string[][]
  /** Training (subject, file) pairs per file. */
  popularity: Uint32Array
}

/** Pairs of a task: query text i retrieves entity `entity[i]`. */
export interface TaskPairs {
  queries: string[]
  entity: Int32Array
}

/** Everything the searchsage experiment reads. */
export interface CommitSearchData {
  files: FileEntities
  /** Distinct training subjects: the entities of the query → query task. */
  subjects: { ids: string[]; index: Map<string, number> }
  train: { file: TaskPairs; query: TaskPairs }
  test: { file: TaskPairs; query: TaskPairs }
  /** Test (subject, file) pairs dropped because the file is not in the catalog. */
  unseenTestPairs: number
}

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
export function commitSearchData(split: CommitSplit): CommitSearchData {
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
    files: {
      ids,
      index,
      path: ids.slice(),
      folders: ids.map(folderNames),
      subjects: subjectsOf,
      popularity,
    },
    subjects: { ids: subjectIds, index: subjectIndex },
    train: { file: asTask(trainFile), query: asTask(trainQuery) },
    test: { file: asTask(testFile), query: asTask(testQuery) },
    unseenTestPairs: unseen,
  }
}
