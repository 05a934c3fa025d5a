/**
 * Entry point of the project's Pulumi program (root Pulumi.yaml, `main: programs/`). A stack whose config
 * has `ray-s3-access:tenant` runs the per-tenant program; any other runs the environment program.
 */
import * as pulumi from "@pulumi/pulumi";
import { environmentProgram } from "./environment";
import { tenantProgram } from "./tenant";

export = new pulumi.Config("ray-s3-access").get("tenant") !== undefined ? tenantProgram() : environmentProgram();
