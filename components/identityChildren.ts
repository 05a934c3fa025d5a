/**
 * The children that hand the role to pods, shared by the identity strategies: the ServiceAccounts (annotated for
 * web identity or not), the Pod Identity associations (one per service account per cluster), and IRSA's chained
 * profile for buckets in another account.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { chainedAwsConfig, chainedEnvironment } from "./crossAccount";
import { additionalClusterSuffixes } from "./names";
import { createAwsConfigMap, createServiceAccount, patchServiceAccount } from "./kubernetes";
import { AdditionalCluster, RayS3AccessArgs, ServiceAccountMode } from "./types";
import { ValidatedArgs } from "./validation";

/** One service account the role serves; `suffix` keeps child names stable across reorderings. */
export interface ServedAccount {
    suffix: string;
    namespace: pulumi.Input<string>;
    name: pulumi.Input<string>;
}

/** What a strategy needs to create its children. */
export interface HandOverContext {
    name: string;
    args: RayS3AccessArgs;
    valid: ValidatedArgs;
    opts: pulumi.CustomResourceOptions;
    roleArn: pulumi.Output<string>;
    /** The role in the buckets' account, when they are in another one. */
    assetsRoleArn?: pulumi.Output<string>;
    accounts: ServedAccount[];
    /** The association's session policy for a service account (roleSharing "sessionPolicy"), or undefined. */
    sessionPolicyOf(account: ServedAccount): pulumi.Input<string> | undefined;
    /**
     * Pod Identity: a cluster's name once its agent is checked or created (see `podIdentityAgent`); the associations
     * take it, so they come after the agent.
     */
    clusterWithAgent(cluster: { suffix: string; clusterName: pulumi.Input<string>; provider?: aws.Provider }): pulumi.Input<string>;
}

/** The identity-specific outputs. */
export interface HandOver {
    podIdentityAssociationId: pulumi.Input<string>;
    podEnvironment: { [key: string]: string };
    /** Pod Identity with a target role: every association's external id (EKS passes it when it chains). */
    externalIds?: pulumi.Output<string>[];
}

/** Creates (or patches) the ServiceAccounts; `annotate` writes the role ARN and the token options for web identity. */
export function serviceAccounts(ctx: HandOverContext, annotate: boolean): void {
    const { valid, name, opts } = ctx;
    for (const account of ctx.accounts) {
        const spec = {
            resourceName: `${name}-sa${account.suffix}`,
            namespace: account.namespace,
            name: account.name,
            roleArn: annotate ? ctx.roleArn : undefined,
            webhookAnnotations: valid.webIdentityToken.annotations,
        };
        if (valid.manageServiceAccount === ServiceAccountMode.Create) createServiceAccount(spec, opts);
        else if (valid.manageServiceAccount === ServiceAccountMode.Patch && spec.roleArn !== undefined)
            patchServiceAccount({ ...spec, roleArn: spec.roleArn }, opts);
    }
}

/** One Pod Identity association per service account per cluster; the primary one's id, and every external id. */
export function associations(ctx: HandOverContext): { primary: pulumi.Input<string>; externalIds: pulumi.Output<string>[] } {
    const { args, valid, name, opts } = ctx;
    // The primary cluster's associations keep their names; the others' are suffixed with the cluster.
    const suffixes = additionalClusterSuffixes(valid.additionalClusters.map((c) => String(c.clusterName)));
    const clusters = [
        { suffix: "", clusterName: args.clusterName! as pulumi.Input<string>, provider: undefined as aws.Provider | undefined },
        ...valid.additionalClusters.map((c: AdditionalCluster, i) => ({ suffix: suffixes[i], clusterName: c.clusterName!, provider: c.provider })),
    ].map((cluster) => ({ ...cluster, clusterName: ctx.clusterWithAgent(cluster) }));
    let primary: pulumi.Input<string> = "";
    const externalIds: pulumi.Output<string>[] = [];
    for (const account of ctx.accounts) {
        for (const cluster of clusters) {
            const association = new aws.eks.PodIdentityAssociation(
                `${name}-association${account.suffix}${cluster.suffix}`,
                {
                    clusterName: cluster.clusterName,
                    namespace: account.namespace,
                    serviceAccount: account.name,
                    roleArn: ctx.roleArn,
                    // EKS chains the pod's session from the workload role into the assets role.
                    targetRoleArn: ctx.assetsRoleArn,
                    disableSessionTags: valid.disableSessionTags ? true : undefined,
                    policy: ctx.sessionPolicyOf(account),
                    tags: args.tags,
                },
                cluster.provider ? { ...opts, provider: cluster.provider } : opts,
            );
            // The primary association's id also carries every cluster's agent check: a check that fails fails it.
            if (account.suffix === "" && cluster.suffix === "")
                primary = pulumi.all([association.associationId, ...clusters.map((c) => c.clusterName)]).apply(([id]) => id);
            if (ctx.assetsRoleArn) externalIds.push(association.externalId);
        }
    }
    return { primary, externalIds };
}

/**
 * IRSA with buckets in another account: a ConfigMap holding the AWS config profile that chains the web-identity
 * session into the assets role, and the environment the pods need to use it.
 */
export function chainedProfile(ctx: HandOverContext): { [key: string]: string } {
    if (!ctx.assetsRoleArn) return {};
    const [primary] = ctx.accounts;
    createAwsConfigMap(
        `${ctx.name}-aws-config`,
        primary.namespace,
        primary.name,
        pulumi
            .all([ctx.roleArn, ctx.assetsRoleArn, ctx.args.assetsExternalId])
            .apply(([workloadArn, arn, externalId]) => chainedAwsConfig(workloadArn, arn, externalId)),
        ctx.opts,
    );
    return chainedEnvironment();
}
