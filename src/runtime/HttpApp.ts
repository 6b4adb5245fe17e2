import { Layer } from "effect"
import { HttpServer } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { AdminApi } from "../domain/api/AdminApi.ts"
import { Apps } from "../manager/Apps.ts"
import * as AdminAuth from "../manager/http/AdminAuth.ts"
import * as AdminBodyLimit from "../manager/http/AdminBodyLimit.ts"
import { AppsHttp } from "../manager/http/AppsHttp.ts"
import { DeadLettersHttp } from "../manager/http/DeadLettersHttp.ts"
import * as DecodeErrors from "../manager/http/DecodeErrors.ts"
import { ExecutionsHttp } from "../manager/http/ExecutionsHttp.ts"
import { LoginHttp, SessionHttp, TokensHttp, UsersHttp } from "../manager/http/IdentityHttp.ts"
import { KvHttp } from "../manager/http/KvHttp.ts"
import { LoginThrottle } from "../manager/http/LoginThrottle.ts"
import { OpenApiRoute } from "../manager/http/OpenApiRoute.ts"
import { RoutesHttp } from "../manager/http/RoutesHttp.ts"
import { SchedulesHttp } from "../manager/http/SchedulesHttp.ts"
import { ScriptsHttp } from "../manager/http/ScriptsHttp.ts"
import { SecretsHttp } from "../manager/http/SecretsHttp.ts"
import { StatsHttp } from "../manager/http/StatsHttp.ts"
import { TriggersHttp } from "../manager/http/TriggersHttp.ts"
import { Identities } from "../manager/Identities.ts"
import { Routes } from "../manager/Routes.ts"
import * as Scheduler from "../manager/Scheduler.ts"
import { Schedules } from "../manager/Schedules.ts"
import { Scripts } from "../manager/Scripts.ts"
import { Secrets } from "../manager/Secrets.ts"
import { Triggers } from "../manager/Triggers.ts"
import * as Dispatcher from "../orchestrator/Dispatcher.ts"
import { AppRoutes } from "../orchestrator/http/AppRoutes.ts"
import { ExecuteRoute } from "../orchestrator/http/ExecuteRoute.ts"
import { ExecutionStatusRoute } from "../orchestrator/http/ExecutionStatusRoute.ts"
import { Invoker } from "../orchestrator/Invoker.ts"
import { KvCommit } from "../orchestrator/KvCommit.ts"
import { PlatformMetrics } from "../orchestrator/PlatformMetrics.ts"
import { RouteTable } from "../orchestrator/RouteTable.ts"
import { ScriptCache } from "../orchestrator/ScriptCache.ts"
import { DashboardRoute } from "./DashboardRoute.ts"
import { HealthRoute } from "./HealthRoute.ts"
import { JsonErrors } from "./JsonErrors.ts"
import { MetricsRoute } from "./MetricsRoute.ts"

/** The admin API (schema-first; its OpenAPI document is served, behind a token, by OpenApiRoute). */
const AdminRoutes = HttpApiBuilder.layer(AdminApi).pipe(
  Layer.provide([
    AppsHttp,
    SecretsHttp,
    KvHttp,
    ScriptsHttp,
    RoutesHttp,
    TriggersHttp,
    SchedulesHttp,
    ExecutionsHttp,
    StatsHttp,
    DeadLettersHttp,
    UsersHttp,
    TokensHttp,
    SessionHttp,
    LoginHttp
  ]),
  Layer.provide([
    LoginThrottle.layer,
    Apps.layer,
    Scripts.layer,
    Routes.layer,
    Triggers.layer,
    Schedules.layer,
    Secrets.layer,
    Identities.layer
  ]),
  Layer.provide([AdminAuth.layer, DecodeErrors.layer, AdminBodyLimit.layer])
)

/** The control plane's routes and its background work: the admin API, the dashboard, the scheduler. */
const ManagerRoutes = Layer.mergeAll(AdminRoutes, OpenApiRoute, DashboardRoute, Scheduler.layer)

/** The data plane's routes and its background work: scripts' endpoints, async results, the dispatcher. */
const OrchestratorRoutes = Layer.mergeAll(ExecuteRoute, ExecutionStatusRoute, AppRoutes, Dispatcher.layer)

/** What every serving process answers: `/health`, `/metrics`, and JSON errors for unmatched paths. */
const CommonRoutes = Layer.mergeAll(HealthRoute, MetricsRoute, JsonErrors)

/** The services routes of both planes share (the admin API's KV writes commit and fire triggers too). */
const withServices = <A, E, R>(routes: Layer.Layer<A, E, R>) =>
  routes.pipe(
    Layer.provide(KvCommit.layer),
    Layer.provide(PlatformMetrics.layer),
    Layer.provide([ScriptCache.layer, RouteTable.layer]),
    Layer.provide(HttpServer.layerServices)
  )

/**
 * Every route this process serves, the dispatcher that runs what async routes (and triggers and
 * schedules) accept, and the scheduler that turns schedules' ticks into outbox rows. Storage,
 * the executor, the execution log, the gate, the outbox and its wake-up, the inbox, script change
 * delivery and the admin token stay open: each mode's composition root provides them.
 */
export const HttpApp = withServices(
  Layer.mergeAll(ManagerRoutes, OrchestratorRoutes, CommonRoutes).pipe(Layer.provide(Invoker.layer))
)

/**
 * The manager process (cluster): the control plane only. Its `Invoker` serves the admin API's test
 * runs, on the manager's own executor; script endpoints are the orchestrators'.
 */
export const ManagerApp = withServices(
  Layer.mergeAll(ManagerRoutes, CommonRoutes).pipe(Layer.provide(Invoker.layer))
)

/** An orchestrator process (cluster): the data plane only, on the node's executor. */
export const OrchestratorApp = withServices(
  Layer.mergeAll(OrchestratorRoutes, CommonRoutes).pipe(Layer.provide(Invoker.layer))
)
