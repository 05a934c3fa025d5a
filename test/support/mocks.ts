/**
 * The one mocks module of the mocha run: `pulumi.runtime.setMocks` is process-wide, so every test file uses
 * this module's state and helpers instead of calling setMocks itself.
 */
import * as pulumi from "@pulumi/pulumi";
import { plausibleOutputs } from "../../automation/mockEngine";
// waitForRPCs is exported by the SDK's runtime settings module, not from the package root.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };

/** A resource the program registered, as the mock engine saw it. */
export interface RecordedResource {
    type: string;
    name: string;
    inputs: Record<string, any>;
    /** `urn::id` of the explicit provider, when one was given. */
    provider?: string;
    state: Record<string, any>;
}

/** What the mock engine answers; tests change it, `resetMocks` restores it. */
export interface MockWorld {
    partition: string;
    accountId: string;
    region: string;
    /** Issuer URL that `aws.eks.getCluster` returns for every cluster; empty string for none. */
    clusterIssuer: string;
    /** Issuer URLs of particular clusters (by name), instead of `clusterIssuer`. */
    clusterIssuers: Record<string, string>;
    resources: RecordedResource[];
    calls: { token: string; inputs: Record<string, any>; provider?: string }[];
    /** What `aws.s3control.getAccessPoints` lists; undefined answers no list, as the offline engine does. */
    accessPoints?: { alias: string; accessPointArn: string }[];
    /**
     * The `eks-pod-identity-agent` add-on of each cluster (by name), with its tags; a cluster not listed has none.
     * Undefined answers nothing, as the offline engine does (the agent question stays open).
     */
    addons?: Record<string, { tags?: Record<string, string> }>;
    /** Clusters in EKS Auto Mode (the agent built in). */
    autoMode?: string[];
    /** An error every EKS describe call fails with (a deployer without eks:DescribeAddon). */
    eksError?: string;
}

function defaultWorld(): MockWorld {
    return {
        partition: "aws",
        accountId: "111122223333",
        region: "us-west-2",
        clusterIssuer: "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
        clusterIssuers: {},
        resources: [],
        calls: [],
        accessPoints: undefined,
        addons: undefined,
        autoMode: undefined,
        eksError: undefined,
    };
}

export const world: MockWorld = defaultWorld();

/**
 * Restores the default world, forgets recorded resources, and re-arms the mock engine on the current stack
 * (a fresh monitor, and no registration left pending by a test whose program failed on purpose).
 */
export function resetMocks(): void {
    Object.assign(world, defaultWorld());
    if (currentStack !== "") {
        pulumi.runtime.setMocks(mocks, "ray-s3-access", currentStack, currentPreview);
    }
}

const DNS_SUFFIX: Record<string, string> = { aws: "amazonaws.com", "aws-cn": "amazonaws.com.cn", "aws-us-gov": "amazonaws.com" };

/** A failed invoke as the engine reports it: the SDK reads the gRPC error's `details`. */
function invokeError(message: string): Error {
    return Object.assign(new Error(message), { details: message });
}

const mocks: pulumi.runtime.Mocks = {
    newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, any> } {
        const state = plausibleOutputs(args.type, args.name, args.inputs, world.accountId, world.region, world.partition);
        world.resources.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider, state });
        return { id: `${args.name}-id`, state };
    },
    call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
        world.calls.push({ token: args.token, inputs: args.inputs, provider: args.provider });
        switch (args.token) {
            case "aws:index/getPartition:getPartition":
                return { partition: world.partition, dnsSuffix: DNS_SUFFIX[world.partition] ?? "amazonaws.com", id: world.partition };
            case "aws:index/getCallerIdentity:getCallerIdentity":
                return {
                    accountId: world.accountId,
                    arn: `arn:${world.partition}:iam::${world.accountId}:user/ci`,
                    userId: "AIDAEXAMPLE",
                    id: world.accountId,
                };
            case "aws:index/getRegion:getRegion":
                return { name: world.region, region: world.region, id: world.region };
            case "aws:eks/getAddon:getAddon": {
                if (world.eksError) throw invokeError(world.eksError);
                if (world.addons === undefined) return {};
                const addon = world.addons[args.inputs.clusterName];
                if (!addon) throw invokeError(`reading EKS Add-On (${args.inputs.clusterName}:${args.inputs.addonName}): couldn't find resource`);
                return {
                    addonName: args.inputs.addonName,
                    clusterName: args.inputs.clusterName,
                    arn: `arn:${world.partition}:eks:${world.region}:${world.accountId}:addon/${args.inputs.clusterName}/${args.inputs.addonName}/x`,
                    addonVersion: "v1.3.4-eksbuild.1",
                    tags: addon.tags ?? {},
                };
            }
            case "aws:eks/getCluster:getCluster": {
                if (world.eksError) throw invokeError(world.eksError);
                const issuer = world.clusterIssuers[args.inputs.name] ?? world.clusterIssuer;
                return {
                    name: args.inputs.name,
                    arn: `arn:${world.partition}:eks:${world.region}:${world.accountId}:cluster/${args.inputs.name}`,
                    identities: issuer ? [{ oidcs: [{ issuer }] }] : [],
                    computeConfigs: [{ enabled: (world.autoMode ?? []).includes(args.inputs.name) }],
                };
            }
            case "aws:s3control/getAccessPoints:getAccessPoints":
                return world.accessPoints ? { accessPoints: world.accessPoints, id: world.accountId } : {};
            default:
                return {};
        }
    },
};

let currentStack = "";
let currentPreview = false;

/** Points the mock engine at a stack (the project is always `ray-s3-access`). */
export function useStack(stack: string, preview = false): void {
    if (stack !== currentStack || preview !== currentPreview) {
        pulumi.runtime.setMocks(mocks, "ray-s3-access", stack, preview);
        currentStack = stack;
        currentPreview = preview;
    }
}

useStack("dev");

/** The value of an Output, once the mock engine has resolved it. */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise<T>((resolve) => output.apply((value) => resolve(value)));
}

/** Waits until every outstanding registration and invoke of the program has finished. */
export async function settle(): Promise<void> {
    await settings.waitForRPCs();
}

/** Recorded resources of a type, optionally only those whose name starts with a prefix. */
export function resourcesOfType(type: string, namePrefix = ""): RecordedResource[] {
    return world.resources.filter((r) => r.type === type && r.name.startsWith(namePrefix));
}

/** The recorded resources as the policy pack sees them in a stack (their outputs as props). */
export function recordedForPolicies(stack: string): { type: string; name: string; urn: string; props: Record<string, any> }[] {
    return world.resources.map((r) => ({ type: r.type, name: r.name, urn: `urn:pulumi:${stack}::ray-s3-access::${r.type}::${r.name}`, props: r.state }));
}
