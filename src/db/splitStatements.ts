/**
 * Splits a SQL script into statements at top-level `;`. The PostgreSQL client speaks the extended
 * protocol (one statement per query), so a migration file is run statement by statement. Quotes
 * ('...', "..."), dollar-quoted bodies ($$...$$, $tag$...$tag$) and comments are respected.
 */
export const splitStatements = (script: string): Array<string> => {
  const statements: Array<string> = []
  let current = ""
  let i = 0
  while (i < script.length) {
    const rest = script.slice(i)
    const dollar = /^\$[A-Za-z_]*\$/.exec(rest)
    if (rest.startsWith("--")) {
      const end = script.indexOf("\n", i)
      i = end === -1 ? script.length : end + 1
      current += "\n"
    } else if (rest.startsWith("/*")) {
      const end = script.indexOf("*/", i + 2)
      i = end === -1 ? script.length : end + 2
      current += " "
    } else if (dollar) {
      const tag = dollar[0]
      const end = script.indexOf(tag, i + tag.length)
      const stop = end === -1 ? script.length : end + tag.length
      current += script.slice(i, stop)
      i = stop
    } else if (script[i] === "'" || script[i] === "\"") {
      const quote = script[i]!
      let j = i + 1
      while (j < script.length && !(script[j] === quote && script[j + 1] !== quote)) j += script[j] === quote ? 2 : 1
      current += script.slice(i, j + 1)
      i = j + 1
    } else if (script[i] === ";") {
      if (current.trim()) statements.push(current.trim())
      current = ""
      i++
    } else {
      current += script[i]
      i++
    }
  }
  if (current.trim()) statements.push(current.trim())
  return statements
}
