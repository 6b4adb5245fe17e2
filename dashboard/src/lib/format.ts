/** Formatting shared by the pages: durations, lags, times. */

/** `850 ms`, `1.5 s`, `2 min 5 s`, `3 h 2 min`: a duration in the largest units that keep it readable. */
export const formatDuration = (ms: number): string => {
  if (!Number.isFinite(ms)) return "—"
  const sign = ms < 0 ? "−" : ""
  const abs = Math.abs(ms)
  if (abs < 1000) return `${sign}${Math.round(abs)} ms`
  if (abs < 60_000) return `${sign}${(abs / 1000).toFixed(abs < 10_000 ? 1 : 0)} s`
  const minutes = Math.floor(abs / 60_000)
  if (minutes < 60) {
    const seconds = Math.floor((abs % 60_000) / 1000)
    return `${sign}${minutes} min${seconds ? ` ${seconds} s` : ""}`
  }
  const hours = Math.floor(minutes / 60)
  if (hours < 48) return `${sign}${hours} h${minutes % 60 ? ` ${minutes % 60} min` : ""}`
  return `${sign}${Math.floor(hours / 24)} d`
}

/** `in 5 min`, `3 s ago`, `now`: `iso` relative to `now` (ms since the epoch). */
export const relativeTime = (iso: string, now: number): string => {
  const at = Date.parse(iso)
  if (Number.isNaN(at)) return iso
  const delta = at - now
  if (Math.abs(delta) < 1000) return "now"
  return delta > 0 ? `in ${formatDuration(delta)}` : `${formatDuration(-delta)} ago`
}

/** A timestamp as the pages show it: the browser's locale, or the text itself when it is not a time. */
export const formatTime = (iso: string | null | undefined): string => {
  if (!iso) return "—"
  const at = new Date(iso)
  return Number.isNaN(at.getTime()) ? iso : at.toLocaleString()
}
