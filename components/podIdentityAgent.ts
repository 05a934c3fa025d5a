/**
 * The EKS Pod Identity agent (`eks-pod-identity-agent`), without which associations do nothing and pods fall back to
 * the node role. `require` asks EKS whether the cluster runs it (as an add-on, or built in with EKS Auto Mode) once the
 * cluster's name is known; `create` adds the add-on when the cluster has none, and leaves one that someone else
 * installed alone.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { perDeployment } from "./lookups";
import { shortHash } from "./names";
import { PodIdentityAgent } from "./types";
import { RayS3AccessValidationError } from "./validation";

import { AGENT_OWNER_TAG, POD_IDENTITY_AGENT_ADDON } from "./constants";

export { AGENT_OWNER_TAG, POD_IDENTITY_AGENT_ADDON };

/** What a cluster runs, as the deployment's AWS provider sees it. */
export type AgentState =
    | { kind: "addon"; owner?: string }
    | { kind: "autoMode" }
    | { kind: "absent" }
    /** An engine that cannot ask AWS (the offline `render` / `check`). */
    | { kind: "unknown" }
    | { kind: "error"; message: string };

/** Per engine connection, per provider, per cluster: one question to EKS however many components ask. */
const states = new WeakMap<object, Map<string, Promise<AgentState>>>();
/** Per engine connection, the clusters whose add-on a component of this deployment already registers. */
const claims = new WeakMap<object, Set<string>>();

function clusterKey(clusterName: string, provider: pulumi.ProviderResource | undefined): string {
    return `${clusterName}\0${provider ? ((provider as unknown as { __name?: string }).__name ?? "provider") : ""}`;
}

/** Is this the error EKS gives for a cluster without the add-on? */
function notFound(error: unknown): boolean {
    return /ResourceNotFound|couldn't find resource|not found|no matching/i.test(String((error as Error)?.message ?? error));
}

/**
 * Asks EKS (through the provider) whether the cluster runs the agent, once per `cache` (one deployment's: take it
 * with `agentCaches` while the program registers, not from a callback, which may run after the engine changed).
 */
export function agentStateOf(
    cache: Map<string, Promise<AgentState>>,
    parent: pulumi.Resource | undefined,
    clusterName: string,
    provider?: pulumi.ProviderResource,
): Promise<AgentState> {
    const key = clusterKey(clusterName, provider);
    let state = cache.get(key);
    if (state === undefined) {
        const opts: pulumi.InvokeOptions = { parent, provider };
        state = (async (): Promise<AgentState> => {
            try {
                const cluster = await aws.eks.getCluster({ name: clusterName }, opts);
                if (cluster.computeConfigs?.some((c) => c.enabled)) return { kind: "autoMode" };
            } catch (error) {
                if (!notFound(error)) return { kind: "error", message: String((error as Error)?.message ?? error) };
            }
            try {
                const addon = await aws.eks.getAddon({ clusterName, addonName: POD_IDENTITY_AGENT_ADDON }, opts);
                if (!addon || !addon.arn) return { kind: "unknown" };
                return { kind: "addon", owner: addon.tags?.[AGENT_OWNER_TAG] };
            } catch (error) {
                return notFound(error) ? { kind: "absent" } : { kind: "error", message: String((error as Error)?.message ?? error) };
            }
        })();
        cache.set(key, state);
    }
    return state;
}

/** Where the agent is checked or created: a cluster of the component, with its provider and its child's suffix. */
export interface AgentCluster {
    clusterName: pulumi.Input<string>;
    provider?: pulumi.ProviderResource;
    /** The add-on child's name. */
    resourceName: string;
}

/**
 * The cluster's name once the agent question is settled for `mode`: `require` fails (naming the fix) when the cluster
 * runs no agent; `create` registers the add-on (as `parent`'s child) when the cluster has none or has the one
 * `owner` (the project, the stack and this name: one owner per stack) created, and waits for it. The associations take their cluster name from here, so they come after the
 * agent and are never created on a cluster without one under `require`.
 */
export function clusterWithAgent(
    componentName: string,
    mode: PodIdentityAgent,
    cluster: AgentCluster,
    parent: pulumi.Resource | undefined,
    owner: string,
    tags?: { [key: string]: string },
): pulumi.Input<string> {
    if (mode === PodIdentityAgent.Ignore) return cluster.clusterName;
    // Outside a deployment (no engine), a cache of this call's own.
    const cache = perDeployment(states, () => new Map<string, Promise<AgentState>>()) ?? new Map<string, Promise<AgentState>>();
    const claimed = perDeployment(claims, () => new Set<string>()) ?? new Set<string>();
    // An apply whose result is an Output (the add-on's) is unwrapped: the name comes once the add-on exists.
    // The owner is plain text, never the parent's URN: an Output of the parent would make each association wait for
    // all the parent's children, the other associations included.
    const token = shortHash(`${pulumi.getProject()}\0${pulumi.getStack()}\0${owner}`);
    return pulumi.output(cluster.clusterName).apply(async (clusterName): Promise<string | pulumi.Output<string>> => {
        const state = await agentStateOf(cache, parent, clusterName, cluster.provider);
        const fixes =
            `add it (podIdentityAgent: "create", or aws eks create-addon --cluster-name ${clusterName} --addon-name ${POD_IDENTITY_AGENT_ADDON}), ` +
            `or set podIdentityAgent "ignore" if the agent runs another way (a DaemonSet of your own)`;
        if (state.kind === "error") {
            throw new RayS3AccessValidationError(componentName, [
                `podIdentityAgent "${mode}": could not ask EKS whether cluster "${clusterName}" runs the ${POD_IDENTITY_AGENT_ADDON} add-on (${state.message}): ` +
                    `allow eks:DescribeCluster and eks:DescribeAddon to the deployer, or set podIdentityAgent "ignore"`,
            ]);
        }
        if (mode === PodIdentityAgent.Require) {
            if (state.kind === "absent") {
                throw new RayS3AccessValidationError(componentName, [
                    `podIdentityAgent "require": cluster "${clusterName}" has no ${POD_IDENTITY_AGENT_ADDON} add-on and is not in EKS Auto Mode, so its Pod Identity associations would do nothing and pods would fall back to the node role: ${fixes}`,
                ]);
            }
            return clusterName;
        }
        const ours = state.kind === "addon" && state.owner === token;
        if (state.kind === "autoMode" || (state.kind === "addon" && !ours)) return clusterName;
        // Absent, ours from an earlier deployment, or unknown (offline: what a cluster without it would get).
        const key = clusterKey(clusterName, cluster.provider);
        if (claimed.has(key)) return clusterName;
        claimed.add(key);
        const addon = new aws.eks.Addon(
            cluster.resourceName,
            { clusterName, addonName: POD_IDENTITY_AGENT_ADDON, tags: { ...tags, [AGENT_OWNER_TAG]: token } },
            { parent, provider: cluster.provider },
        );
        return addon.arn.apply(() => clusterName);
    }) as pulumi.Output<unknown> as pulumi.Output<string>;
}
