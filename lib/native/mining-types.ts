/** Raw binding types of the mining family (internal). Filled in by the mining work. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface RawMiningBinding {}
