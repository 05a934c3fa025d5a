/**
 * A stack's config, checked whole before anything runs: the schema and each tenant's own arguments
 * (`parseStackConfig`), then each shared role's arguments as the program will build them (the union of buckets, the
 * session policies, the storage kinds abac cannot isolate). The runner calls this before it evaluates or deploys a
 * stack, so a refusal is exit 2 with its message, never a failure inside the program.
 */
import { RayS3AccessValidationError } from "../components";
import { checkBeforeRegistration } from "../components/rayS3Access";
import { plainArns, regionPartition } from "../components/validation";
import { clusterRegions, CONFIG_NAMESPACE, parseStackConfig, sharingArgs, StackConfig, StackConfigError } from "./config";
import { roleGroups } from "./sharing";
import { roleGroupArgs } from "./tenants";

export function validateStackConfig(stack: string, raw: Record<string, unknown>, region?: string): StackConfig {
    const config = parseStackConfig(stack, raw);
    if (region) {
        const problems = partitionProblems(config, region);
        if (problems.length > 0) throw new StackConfigError(stack, problems);
    }
    if (config.tenantStacks || (config.roleSharing !== "sessionPolicy" && config.roleSharing !== "abac")) return config;
    // A shared role's documents depend on every tenant (the union, each session policy).
    const problems: string[] = [];
    for (const group of roleGroups(config)) {
        try {
            checkBeforeRegistration(group.name, roleGroupArgs(config, group), { clusterRegions: clusterRegions(config, group.tenants[0]) });
        } catch (error) {
            if (!(error instanceof RayS3AccessValidationError)) throw error;
            problems.push(...error.problems.map((p) => `${CONFIG_NAMESPACE}:roleSharing "${config.roleSharing}", shared role "${group.name}": ${p}`));
        }
    }
    if (problems.length > 0) throw new StackConfigError(stack, problems);
    return config;
}

/**
 * ARNs and regions of another partition than the stack's (`aws:region`): IAM, EKS and S3 refuse them, since a role
 * can neither trust nor grant across partitions.
 */
function partitionProblems(config: StackConfig, region: string): string[] {
    const partition = regionPartition(region);
    const problems: string[] = [];
    const inherited = new Map<string, string>();
    if (config.oidcProviderArn) inherited.set(config.oidcProviderArn, "oidcProviderArn");
    (config.additionalClusters ?? []).forEach((c, i) => c.oidcProviderArn && inherited.set(c.oidcProviderArn, `additionalClusters[${i}].oidcProviderArn`));
    config.tenants.forEach((tenant, index) => {
        const label = `tenant ${index} ("${tenant.namespace}")`;
        const arns = plainArns(sharingArgs(config, tenant));
        if (tenant.assetsDeployRoleArn) arns.push(["assetsDeployRoleArn", tenant.assetsDeployRoleArn]);
        for (const [field, arn] of arns) {
            const theirs = arn.split(":")[1];
            if (theirs !== partition) {
                // A value the tenant inherits from the stack is reported once, as the stack's.
                const where = inherited.has(arn) ? `${CONFIG_NAMESPACE}:${inherited.get(arn)}` : `${label} field ${field}`;
                problems.push(
                    `${where}: "${arn}" is in partition "${theirs}", the stack's aws:region ${region} in "${partition}": a role can neither trust nor grant across partitions; give the ARN in "${partition}"`,
                );
            }
        }
        (tenant.additionalClusters ?? config.additionalClusters ?? []).forEach((cluster, c) => {
            if (cluster.region && regionPartition(cluster.region) !== partition) {
                problems.push(
                    `${label} field additionalClusters[${c}].region: ${cluster.region} is in partition "${regionPartition(cluster.region)}", the stack's aws:region ${region} in "${partition}": one role cannot serve clusters of two partitions; give that cluster a stack of its own`,
                );
            }
        });
    });
    return [...new Set(problems)];
}
