/**
 * Chooses the program for the running stack: a stack whose config has `ray-s3-access:tenant` runs the
 * per-tenant program, one with `ray-s3-access:environmentStack` (and tenants) the shard program, any other the
 * environment program.
 */
import * as pulumi from "@pulumi/pulumi";
import { environmentProgram } from "./environment";
import { shardProgram, tenantProgram } from "./tenant";

export function runProgram(): unknown {
    const config = new pulumi.Config("ray-s3-access");
    if (config.get("tenant") !== undefined) return tenantProgram();
    // A shard stack: a share of an environment's tenants, with the environment stack's cluster-level pieces.
    if (config.get("environmentStack") !== undefined) return shardProgram();
    return environmentProgram();
}
