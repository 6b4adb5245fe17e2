/** JSON as the KV browser edits it: a value is text in a textarea until it parses. */

export type Parsed =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly message: string }

/** `text` as JSON, or a message saying why it is not (an empty text is not a value). */
export const parseJson = (text: string): Parsed => {
  if (text.trim() === "") return { ok: false, message: "Enter a JSON value (for text, quote it: \"hello\")." }
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (error) {
    return { ok: false, message: `Not JSON: ${error instanceof Error ? error.message : String(error)}` }
  }
}

/** A value as the editor shows it: indented JSON. */
export const formatJson = (value: unknown): string => JSON.stringify(value, null, 2) ?? "null"

/** A value in one short line, for a list: at most `max` characters. */
export const previewJson = (value: unknown, max = 80): string => {
  const text = JSON.stringify(value) ?? "null"
  return text.length > max ? text.slice(0, max - 1) + "…" : text
}
