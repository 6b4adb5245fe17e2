import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

/** The repository's root, and its docker/ directory. */
export const REPO = fileURLToPath(new URL("../..", import.meta.url))
export const DOCKER = fileURLToPath(new URL("../../docker", import.meta.url))

export interface Instruction {
  /** `FROM`, `RUN`, `COPY`, `ENV`, ... in capitals. */
  readonly keyword: string
  /** Flags before the arguments (`--from=build`, `--mount=…`). */
  readonly flags: ReadonlyArray<string>
  /** The rest, continuation lines joined. */
  readonly args: string
}

/**
 * A Dockerfile's instructions, stage by stage (the `ARG`s before the first `FROM` in a stage of
 * their own). Enough of the syntax for ours: comments, `\` continuations, leading `--flags`.
 */
export const parseDockerfile = (path: string): ReadonlyArray<ReadonlyArray<Instruction>> => {
  const logical = readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("#"))
    .join("\n")
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
  const stages: Array<Array<Instruction>> = [[]]
  for (const line of logical) {
    const [keyword, ...rest] = line.split(/\s+/)
    const words = rest.join(" ")
    const flags = words.match(/^(?:--\S+\s+)*/)![0].trim().split(/\s+/).filter((flag) => flag !== "")
    const instruction = {
      keyword: keyword!.toUpperCase(),
      flags,
      args: words.slice(words.match(/^(?:--\S+\s+)*/)![0].length)
    }
    if (instruction.keyword === "FROM") stages.push([])
    stages[stages.length - 1]!.push(instruction)
  }
  return stages
}

/** `KEY=value KEY2=value2` of an `ENV` (no quoting in ours). */
export const envOf = (args: string) =>
  Object.fromEntries(
    args.split(/\s+/).map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)])
  )
