/**
 * Chooses the program for the running stack: a stack whose config has `ray-s3-access:tenant` runs the
 * per-tenant program, any other the environment program.
 */
import * as pulumi from "@pulumi/pulumi";
import { environmentProgram } from "./environment";
import { tenantProgram } from "./tenant";

export function runProgram(): unknown {
    return new pulumi.Config("ray-s3-access").get("tenant") !== undefined ? tenantProgram() : environmentProgram();
}
