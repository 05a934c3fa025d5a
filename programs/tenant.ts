/**
 * The per-tenant program, for one stack per tenant (`ENV.NAMESPACE`, created by the runner's --per-tenant):
 * one tenant, with the cluster-level values read from the environment stack's outputs (StackReference,
 * `ray-s3-access:environmentStack`) or from this stack's own config.
 */
import * as pulumi from "@pulumi/pulumi";
import { validateStackConfig } from "./stackConfig";
import { rawStackConfig } from "./environment";
import { createTenant, TenantOutputs } from "./tenants";

/** Runs the per-tenant program for the current stack. */
export function tenantProgram(stack = pulumi.getStack()): TenantOutputs {
    const config = validateStackConfig(stack, rawStackConfig(), new pulumi.Config("aws").get("region"));
    const environmentStack = config.environmentStack;
    let providerArn: pulumi.Input<string> | undefined = config.oidcProviderArn;
    if (environmentStack) {
        // The environment stack owns the OIDC provider; tenants only trust it.
        const environment = new pulumi.StackReference(environmentStack);
        providerArn = environment.getOutput("oidcProviderArn").apply((arn) => (typeof arn === "string" && arn !== "" ? arn : (config.oidcProviderArn ?? "")));
    }
    return createTenant({ ...config, createOidcProvider: false }, config.tenants[0], config.identity === "irsa" ? providerArn : undefined);
}
