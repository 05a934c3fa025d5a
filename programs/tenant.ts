/**
 * The per-tenant program, for one stack per tenant (`ENV.NAMESPACE`, created by the runner's --per-tenant), and the
 * shard program, for a fleet's shard stacks (`ENV.shard_001`): their tenants, with the cluster-level values read from
 * the environment stack's outputs (StackReference, `ray-s3-access:environmentStack`) or from the stack's own config.
 */
import * as pulumi from "@pulumi/pulumi";
import { validateStackConfig } from "./stackConfig";
import { EnvironmentOutputs, rawStackConfig } from "./environment";
import { StackConfig } from "./config";
import { createTenant, TenantOutputs } from "./tenants";

/** The OIDC provider tenants trust: the environment stack's (it owns the provider), or this stack's config. */
function environmentProvider(config: StackConfig): pulumi.Input<string> | undefined {
    if (!config.environmentStack) return config.oidcProviderArn;
    const environment = new pulumi.StackReference(config.environmentStack);
    return environment.getOutput("oidcProviderArn").apply((arn) => (typeof arn === "string" && arn !== "" ? arn : (config.oidcProviderArn ?? "")));
}

/**
 * A tenant or shard stack's config: the cluster-level pieces are the environment stack's (its OIDC provider, the
 * Pod Identity agent it creates), so here the agent is only required.
 */
export function tenantStackConfig(config: StackConfig): StackConfig {
    return { ...config, createOidcProvider: false, podIdentityAgent: config.podIdentityAgent === "create" ? "require" : config.podIdentityAgent };
}

/** Runs the per-tenant program for the current stack. */
export function tenantProgram(stack = pulumi.getStack()): TenantOutputs {
    const config = validateStackConfig(stack, rawStackConfig(), new pulumi.Config("aws").get("region"));
    const providerArn = environmentProvider(config);
    return createTenant(tenantStackConfig(config), config.tenants[0], config.identity === "irsa" ? providerArn : undefined);
}

/** Tenants created between two yields to the event loop, as the environment program does. */
const TENANTS_PER_TURN = 25;

/**
 * Runs a shard stack (`ENV.shard_001`, planned by `fleet plan`): its tenants, trusting the environment stack's OIDC
 * provider. Its outputs have the environment program's shape, so `verify` reads a shard as it reads an environment.
 * A shard whose tenants were all removed registers nothing, and its update deletes what they had.
 */
export async function shardProgram(stack = pulumi.getStack()): Promise<EnvironmentOutputs> {
    const config = validateStackConfig(stack, rawStackConfig(), new pulumi.Config("aws").get("region"));
    const providerArn = environmentProvider(config);
    const tenants: Record<string, TenantOutputs> = {};
    for (const [index, tenant] of config.tenants.entries()) {
        if (index > 0 && index % TENANTS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
        tenants[tenant.namespace] = createTenant(
            tenantStackConfig(config),
            tenant,
            (tenant.identity ?? config.identity) === "podIdentity" ? undefined : providerArn,
        );
    }
    return {
        identity: config.identity,
        clusterName: config.clusterName,
        oidcProviderArn: config.identity !== "podIdentity" ? pulumi.output(providerArn ?? "") : undefined,
        tenants,
    };
}
