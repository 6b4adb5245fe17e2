import { readFileSync } from "node:fs"

/** A process's resident memory in MB (its threads included), from /proc; 0 once it is gone. */
export const rssMb = (pid: number) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024
  } catch {
    return 0
  }
}

/**
 * Its proportional share (PSS) in MB: shared pages divided among the processes that map them. Summed
 * over PostgreSQL's processes this counts its shared buffers once; their RSS counts them once per
 * process that touched them.
 */
export const pssMb = (pid: number) => {
  try {
    return Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))![1]) / 1024
  } catch {
    return 0
  }
}
