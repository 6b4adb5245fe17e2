import { Layer } from "effect"
import { DispatcherWake } from "./DispatcherWake.ts"

/** In-process signals only (memory storage, tests). */
export const layer = Layer.effect(DispatcherWake, DispatcherWake.make)
