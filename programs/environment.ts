/**
 * The environment program: one stack per environment (`Pulumi.dev.yaml`, `Pulumi.prod.yaml`). Creates the
 * cluster-level pieces once (the IAM OIDC provider when asked) and one tenant per `ray-s3-access:tenants`
 * entry.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { STS_AUDIENCE } from "../components/trustPolicy";
import { StackConfig, TOP_LEVEL_KEYS } from "./config";
import { exposureWarnings } from "./exposure";
import { validateStackConfig } from "./stackConfig";
import { roleGroups, roleGroupsAsync } from "./sharing";

export { roleGroups };
import { createRoleGroup, regionProvider, TenantOutputs } from "./tenants";
import { clusterWithAgent } from "../components/podIdentityAgent";
import { PodIdentityAgent } from "../components/types";

/** Every `ray-s3-access:*` value of the running stack, raw. */
export function rawStackConfig(): Record<string, unknown> {
    const raw: Record<string, unknown> = {};
    const config = new pulumi.Config("ray-s3-access");
    for (const key of TOP_LEVEL_KEYS) {
        const value = config.get(key);
        if (value !== undefined) raw[key] = value;
    }
    return raw;
}

export interface EnvironmentOutputs {
    identity: string;
    clusterName?: string;
    oidcProviderArn?: pulumi.Output<string> | string;
    tenants: Record<string, TenantOutputs>;
    /** `podIdentityAgent: "create"`: the clusters whose agent the stack checked or added. */
    podIdentityAgentClusters?: pulumi.Output<string[]>;
}

/**
 * `ray-s3-access:podIdentityAgent: "create"`: the eks-pod-identity-agent add-on in every cluster a Pod Identity tenant
 * uses, added by the environment stack where a cluster has none (the stack owns it: removing a tenant never removes
 * it). One that exists is left alone. The tenants' components then ignore the agent.
 */
export function clusterPodIdentityAgents(config: StackConfig): pulumi.Output<string[]> | undefined {
    if (config.podIdentityAgent !== PodIdentityAgent.Create) return undefined;
    const clusters = new Map<string, { clusterName: string; region?: string }>();
    for (const tenant of config.tenants) {
        if ((tenant.identity ?? config.identity) === "irsa") continue;
        const primary = tenant.clusterName ?? config.clusterName;
        if (primary) clusters.set(`${primary}\0`, { clusterName: primary });
        for (const cluster of tenant.additionalClusters ?? config.additionalClusters ?? []) {
            if (cluster.clusterName)
                clusters.set(`${cluster.clusterName}\0${cluster.region ?? ""}`, { clusterName: cluster.clusterName, region: cluster.region });
        }
    }
    return pulumi.all(
        [...clusters.values()].map(({ clusterName, region }) =>
            clusterWithAgent(
                "ray-s3-access:podIdentityAgent",
                PodIdentityAgent.Create,
                {
                    clusterName,
                    provider: region ? regionProvider(config, region) : undefined,
                    resourceName: `pod-identity-agent-${clusterName}${region ? `-${region}` : ""}`,
                },
                undefined,
                "environment",
                config.tags,
            ),
        ),
    );
}

/** Cluster-level pieces: the OIDC provider to trust (created once for every tenant, when asked). */
export function clusterOidcProvider(config: StackConfig): pulumi.Input<string> | undefined {
    if (!config.createOidcProvider) return config.oidcProviderArn;
    const issuer = config.oidcIssuerUrl ?? aws.eks.getClusterOutput({ name: config.clusterName! }).identities[0].oidcs[0].issuer;
    const audiences = [...new Set([STS_AUDIENCE, config.webIdentityToken?.audience ?? STS_AUDIENCE])];
    return new aws.iam.OpenIdConnectProvider("cluster-oidc", { url: issuer, clientIdLists: audiences, tags: config.tags }).arn;
}

/** Role groups created between two yields to the event loop (a few hundred milliseconds of work). */
const GROUPS_PER_TURN = 25;

/**
 * Runs the environment program for the current stack. Thousands of tenants take tens of seconds to register, so
 * the program yields to the event loop between batches: Ctrl-C and timeouts are heard while it runs.
 */
export async function environmentProgram(stack = pulumi.getStack(), raw = rawStackConfig()): Promise<EnvironmentOutputs> {
    const config = validateStackConfig(stack, raw, new pulumi.Config("aws").get("region"));
    // Said once per environment, also when its tenants run in stacks of their own (the environment sees them all).
    for (const warning of exposureWarnings(config)) void pulumi.log.warn(warning);
    const providerArn = clusterOidcProvider(config);
    const podIdentityAgentClusters = clusterPodIdentityAgents(config);
    const tenants: Record<string, TenantOutputs> = {};
    const groups = config.tenantStacks ? [] : await roleGroupsAsync(config);
    for (const [index, group] of groups.entries()) {
        if (index > 0 && index % GROUPS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
        Object.assign(tenants, createRoleGroup(config, group, providerArn));
    }
    return {
        identity: config.identity,
        clusterName: config.clusterName,
        oidcProviderArn: config.identity !== "podIdentity" ? pulumi.output(providerArn ?? "") : undefined,
        tenants,
        ...(podIdentityAgentClusters ? { podIdentityAgentClusters } : {}),
    };
}
