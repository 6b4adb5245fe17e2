/** The median (the mean of the middle two for an even count). */
export const median = (xs: ReadonlyArray<number>) => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Nearest-rank percentile (`q` in 0–1) of values sorted ascending. */
export const percentile = (sorted: ArrayLike<number>, q: number) =>
  sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!
