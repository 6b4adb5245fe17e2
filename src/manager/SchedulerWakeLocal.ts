import { Layer } from "effect"
import { SchedulerWake } from "./SchedulerWake.ts"

/** In-process signals only (memory storage, tests). */
export const layer = Layer.effect(SchedulerWake, SchedulerWake.make)
