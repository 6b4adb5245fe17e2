import { Schema } from "effect"

/** A script's stable id (a UUID), distinct from its user-chosen name. */
export const ScriptId = Schema.String.pipe(Schema.brand("ScriptId"))
export type ScriptId = typeof ScriptId.Type

/** One execution's id (a UUID); also the root id of the chain it starts. */
export const ExecutionId = Schema.String.pipe(Schema.brand("ExecutionId"))
export type ExecutionId = typeof ExecutionId.Type

/** Any UUID, in any case: how an id is told from a name wherever a reference may be either. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
