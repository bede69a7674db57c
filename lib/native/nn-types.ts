/** Raw binding types of the nn family (internal). Filled in by the nn work. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface RawNnBinding {}
