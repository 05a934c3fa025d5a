/**
 * A stack's config, checked whole before anything runs: the schema and each tenant's own arguments
 * (`parseStackConfig`), then each shared role's arguments as the program will build them (the union of buckets, the
 * session policies, the storage kinds abac cannot isolate). The runner calls this before it evaluates or deploys a
 * stack, so a refusal is exit 2 with its message, never a failure inside the program.
 */
import { RayS3AccessValidationError } from "../components";
import { checkBeforeRegistration } from "../components/rayS3Access";
import { CONFIG_NAMESPACE, parseStackConfig, StackConfig, StackConfigError } from "./config";
import { roleGroups } from "./sharing";
import { roleGroupArgs } from "./tenants";

export function validateStackConfig(stack: string, raw: Record<string, unknown>): StackConfig {
    const config = parseStackConfig(stack, raw);
    if (config.tenantStacks || (config.roleSharing !== "sessionPolicy" && config.roleSharing !== "abac")) return config;
    // A shared role's documents depend on every tenant (the union, each session policy).
    const problems: string[] = [];
    for (const group of roleGroups(config)) {
        try {
            checkBeforeRegistration(group.name, roleGroupArgs(config, group));
        } catch (error) {
            if (!(error instanceof RayS3AccessValidationError)) throw error;
            problems.push(...error.problems.map((p) => `${CONFIG_NAMESPACE}:roleSharing "${config.roleSharing}", shared role "${group.name}": ${p}`));
        }
    }
    if (problems.length > 0) throw new StackConfigError(stack, problems);
    return config;
}
