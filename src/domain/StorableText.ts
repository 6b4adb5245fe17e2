import { Schema } from "effect"

/**
 * Why text cannot be stored, or `undefined` when it can. PostgreSQL's `text` (and `jsonb`) refuses
 * NUL (U+0000), and an unpaired UTF-16 surrogate (which JSON can carry: `"\ud800"`) has no UTF-8
 * form; without this check such input reaches the database and comes back as a 500. Admin inputs
 * and KV keys and values share this rule.
 */
export const unstorable = (text: string) =>
  text.includes("\u0000") || !text.isWellFormed()
    ? "must not contain NUL characters or unpaired UTF-16 surrogates"
    : undefined

/** The schema check of `unstorable`. */
export const isStorableText = Schema.makeFilter((text: string) => unstorable(text) ?? true)

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
