import { readFileSync } from "node:fs"

/** A process's resident memory in MB (its threads included), from /proc; 0 once it is gone. */
export const rssMb = (pid: number) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024
  } catch {
    return 0
  }
}
