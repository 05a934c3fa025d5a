/**
 * Buckets in another account (an "assets" account): the workload role may only assume a role there, and
 * that role, trusting only the workload role, holds the S3 permissions. Pure builders.
 */
import { PolicyDocument } from "./s3Policy";

/** Where the chained profile's web-identity token is mounted by the IRSA webhook. */
export const IRSA_TOKEN_FILE = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token";
/** Where the component's ConfigMap is meant to be mounted, and the profile pods should use. */
export const AWS_CONFIG_MOUNT = "/etc/ray-s3-access";
export const ASSETS_PROFILE = "assets";

export interface ChainOptions {
    /** Pod Identity chains with session tags: the assets role must allow sts:TagSession. */
    tagSession: boolean;
    /**
     * The external id(s) the assets role requires: IRSA's profile passes `assetsExternalId`; with Pod Identity, each
     * association's own id, which EKS passes when it chains.
     */
    externalId?: string | string[];
}

/** What the workload role needs on the assets role (and the assets role's trust allows). */
export function chainActions(options: ChainOptions): string | string[] {
    return options.tagSession ? ["sts:AssumeRole", "sts:TagSession"] : "sts:AssumeRole";
}

/** The assets role's trust: the workload role, and nothing else. */
export function buildAssetsTrustPolicy(workloadRoleArn: string, options: ChainOptions): PolicyDocument {
    const ids = [...new Set([options.externalId ?? []].flat())].filter((id) => id !== "").sort();
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "WorkloadRoleOnly",
                Effect: "Allow",
                Principal: { AWS: workloadRoleArn },
                Action: chainActions(options),
                ...(ids.length > 0 ? { Condition: { StringEquals: { "sts:ExternalId": ids.length === 1 ? ids[0] : ids } } } : {}),
            },
        ],
    };
}

/** The workload role's only permission when the buckets are elsewhere: assuming the assets role. */
export function buildAssumeAssetsPolicy(assetsRoleArn: string, options: ChainOptions): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [{ Sid: "AssumeAssetsRole", Effect: "Allow", Action: chainActions(options), Resource: assetsRoleArn }],
    };
}

/** The AWS config file an IRSA pod mounts to chain from its web identity into the assets role. */
export function chainedAwsConfig(workloadRoleArn: string, assetsRoleArn: string, externalId?: string): string {
    return [
        "[profile workload]",
        `role_arn = ${workloadRoleArn}`,
        `web_identity_token_file = ${IRSA_TOKEN_FILE}`,
        "",
        `[profile ${ASSETS_PROFILE}]`,
        `role_arn = ${assetsRoleArn}`,
        "source_profile = workload",
        ...(externalId ? [`external_id = ${externalId}`] : []),
        "",
    ].join("\n");
}

/** The environment that makes SDKs in the pod use the chained profile. */
export function chainedEnvironment(): { [key: string]: string } {
    return { AWS_CONFIG_FILE: `${AWS_CONFIG_MOUNT}/config`, AWS_PROFILE: ASSETS_PROFILE, AWS_SDK_LOAD_CONFIG: "1" };
}
