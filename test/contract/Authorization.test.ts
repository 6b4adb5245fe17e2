import { authorizationMatrix, inputWalk } from "../support/authorizationMatrix.ts"
import { makeSqlPlatform } from "./sqlPlatform.ts"

// One PostgreSQL for the whole matrix; every fixture builds the platform afresh on top of it.
const { platform } = makeSqlPlatform()

authorizationMatrix("sql", platform)
inputWalk("sql", platform)
