import { Schema } from "effect"

/**
 * Text PostgreSQL can store. Its `text` type refuses NUL (U+0000), and an unpaired UTF-16
 * surrogate (which JSON can carry: `"\ud800"`) has no UTF-8 form. Without this check such input
 * reaches the database and comes back as a 500.
 */
export const isStorableText = Schema.makeFilter((text: string) =>
  (!text.includes("\u0000") && text.isWellFormed()) || "must not contain NUL characters or unpaired UTF-16 surrogates"
)

/**
 * The one string schema of every admin API input that can reach storage (payload fields, path
 * parameters, query values): storable, and at most `maxLength` UTF-16 code units, so that no
 * field is unbounded. Script sources, bounded in bytes by configuration, omit `maxLength`.
 */
export const StorableText = (maxLength?: number) =>
  maxLength === undefined
    ? Schema.String.check(isStorableText)
    : Schema.String.check(
      isStorableText,
      Schema.isMaxLength(maxLength, { message: `must be at most ${maxLength} characters` })
    )

/** Names and ids as `{ref}`s take: names are at most 64 characters, ids are 36 (UUIDs). */
export const MAX_REF_LENGTH = 64

/** A name or an id, as paths, queries and payloads refer to apps, scripts and users. */
export const Ref = StorableText(MAX_REF_LENGTH)
