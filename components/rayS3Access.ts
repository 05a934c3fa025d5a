import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { RAY_S3_ACCESS_TYPE } from "./constants";
import { buildAssetsTrustPolicy, buildAssumeAssetsPolicy } from "./crossAccount";
import { createMountpointVolume } from "./kubernetes";
import { kubernetesName, policyArnSuffix, refSuffix, shortHash } from "./names";
import { accessPointsByAliasOf, accountIdOf, partitionOf, regionOf } from "./lookups";
import {
    abacScope,
    BucketLocation,
    buildDirectoryAccessPointPolicy,
    buildS3PermissionsPolicy,
    compactJson,
    directoryAccessPointScope,
    iamJsonLength,
    MANAGED_POLICY_MAX_LENGTH,
    ResolvedBucketAccess,
    withAccessPointArns,
    zoneIdPrefix,
} from "./s3Policy";
import { issuerHostPath, ServiceAccountRef, STS_AUDIENCE } from "./trustPolicy";
import { buildTrustPolicy, TrustScope } from "./identities";
import { clusterWithAgent } from "./podIdentityAgent";
import { AdditionalCluster, IdentityType, RayS3AccessArgs, RoleSharing } from "./types";
import {
    DEFERRED_CHECKED_FIELDS,
    isDeferred,
    plainArns,
    RayS3AccessValidationError,
    ResolvedSessionPolicy,
    resolvedValueProblem,
    trustPolicyLengthProblem,
    validateArgs,
    ValidatedArgs,
    ValidationContext,
} from "./validation";

/** The component's type token. */
export { RAY_S3_ACCESS_TYPE };

/** A 12-digit stand-in account used to measure documents before the real account id is known. */
const PLACEHOLDER_ACCOUNT = "000000000000";

/**
 * Least-privilege S3 access for the pods of one workload (a Ray cluster, a Kubeflow profile, a SkyPilot
 * namespace) on EKS: an IAM role whose trust admits exactly the workload's service accounts (IRSA or EKS Pod
 * Identity), one managed policy that grants only the listed buckets and prefixes, and the ServiceAccount
 * annotation (IRSA) or Pod Identity association that hands the role to the pods.
 */
export class RayS3Access extends pulumi.ComponentResource {
    /** ARN of the IAM role the pods assume. */
    public readonly roleArn: pulumi.Output<string>;
    /** Name of the IAM role. */
    public readonly roleName: pulumi.Output<string>;
    /** ARN of the managed S3 policy attached to the role. */
    public readonly policyArn: pulumi.Output<string>;
    // The outputs below are built on first read (see `LAZY_OUTPUTS`): they only restate values the
    // constructor already holds, and a stack of a thousand tenants should not pay for Outputs nobody reads.
    // `declare` keeps them property declarations (what the schema analyzer reads) without emitting fields
    // that would hide the getters.
    /** The workload's namespace. */
    declare public readonly namespace: pulumi.Output<string>;
    /** The workload's ServiceAccount name. */
    declare public readonly serviceAccountName: pulumi.Output<string>;
    /** The role's trust policy (JSON). */
    declare public readonly trustPolicy: pulumi.Output<string>;
    /** The complete identity policy the component attaches (JSON). */
    declare public readonly permissionsPolicy: pulumi.Output<string>;
    /** ARN of the IAM OIDC provider the role trusts (IRSA; empty for Pod Identity). */
    declare public readonly oidcProviderArn: pulumi.Output<string>;
    /** Id of the primary service account's Pod Identity association (Pod Identity; empty for IRSA). */
    declare public readonly podIdentityAssociationId: pulumi.Output<string>;
    /** ARN of the role in the buckets' account (cross-account; empty otherwise). */
    declare public readonly assetsRoleArn: pulumi.Output<string>;
    /** Environment a pod needs to use the chained AWS profile (IRSA cross-account; empty otherwise). */
    declare public readonly podEnvironment: pulumi.Output<{ [key: string]: string }>;

    constructor(name: string, args: RayS3AccessArgs, opts?: pulumi.ComponentResourceOptions) {
        // Validate before super(): invalid input must fail before anything is registered.
        const valid = validateArgs(name, args);
        // Values known only at deployment are checked with the same rules when they resolve.
        args = checkedWhenResolved(name, args);
        if (args.tags !== undefined) {
            // A plain copy: a map without a prototype (Object.create(null), some parsers' output) breaks the SDK's
            // property transfer halfway through a resource, leaving it without its outputs.
            args = { ...args, tags: { ...args.tags } };
        }
        const known = documentsFromPlainInputs(name, args, valid);
        super(RAY_S3_ACCESS_TYPE, name, {}, opts);

        const childOpts: pulumi.CustomResourceOptions = { parent: this };
        // Plain values stay plain: hundreds of tenants in one stack should not pay for Outputs they don't need.
        const partition: pulumi.Input<string> = known.partition ?? partitionOf(this);
        const namespace = args.namespace;
        const serviceAccountName = args.serviceAccountName ?? valid.serviceAccountName!;
        const plainSubjects =
            typeof namespace === "string" && typeof serviceAccountName === "string"
                ? [{ namespace, name: serviceAccountName }, ...valid.additionalServiceAccounts]
                : undefined;
        const subjects: pulumi.Input<ServiceAccountRef[]> =
            plainSubjects ?? pulumi.all([namespace, serviceAccountName]).apply(([ns, sa]) => [{ namespace: ns, name: sa }, ...valid.additionalServiceAccounts]);

        const { oidcProviderArn, trustPolicy } = this.trust(name, args, valid, known, partition, subjects, childOpts);

        // Bucket entries or policy ARNs given as Outputs: the documents are built from the arguments validated again
        // once they resolve (the same rules and messages); everything else is decided now.
        const late = valid.deferred.late ? lateValidated(name, args, partition) : undefined;
        // Directory buckets named without their ARN live in the provider's region and account.
        let providerLocation: pulumi.Output<BucketLocation> | undefined;
        const locationOf = (v: ValidatedArgs): pulumi.Input<BucketLocation | undefined> =>
            needsLocation(v)
                ? (providerLocation ??= pulumi.all([regionOf(this), accountIdOf(this)]).apply(([region, account]) => ({ region, account })))
                : undefined;
        const location: pulumi.Input<BucketLocation | undefined> = late ? late.apply((v) => pulumi.output(locationOf(v))) : locationOf(valid);
        const permissionsOf = (v: ValidatedArgs): pulumi.Input<string> => {
            // Access points named by alias: IAM needs their ARNs, looked up among the provider's account's access points.
            const byAlias = hasAliases(v) ? accessPointsByAliasOf(this) : undefined;
            return pulumi.all([partition, args.clusterName ?? "", locationOf(v), byAlias]).apply(([p, cluster, where, aliases]) => {
                if (where) assertZonesIn(name, v, where);
                const resolved = hasAliases(v) ? withAliasesResolved(name, v, p, where!, aliases) : v;
                return checkedPermissionsPolicy(name, resolved, p, [cluster, ...v.additionalClusters.map((c) => c.clusterName ?? "")], where);
            });
        };
        const permissionsPolicy: pulumi.Input<string> =
            known.permissionsPolicy ?? (late ? late.apply((v) => pulumi.output(permissionsOf(v))) : permissionsOf(valid));
        const describe = (text: (workload: string) => string): pulumi.Input<string> =>
            typeof namespace === "string" && typeof serviceAccountName === "string"
                ? text(`${namespace}/${serviceAccountName}`)
                : pulumi.all([namespace, serviceAccountName]).apply(([ns, sa]) => text(`${ns}/${sa}`));

        const role = new aws.iam.Role(
            `${name}-role`,
            {
                name: args.roleName,
                path: args.rolePath,
                description: describe((workload) => `S3 access for ${workload} (ray-s3-access, ${valid.identity})`),
                assumeRolePolicy: trustPolicy,
                permissionsBoundary: args.permissionsBoundaryArn,
                maxSessionDuration: valid.maxSessionDuration,
                tags: args.tags,
            },
            childOpts,
        );
        // Buckets in another account: the S3 policy goes to an assets role there, which trusts only the
        // workload role; the workload role may only assume it.
        const assets = args.assetsProvider ? this.assetsAccount(name, args, valid, role, permissionsPolicy, partition, describe) : undefined;
        if (assets && valid.strategy.webIdentity && args.annotateServiceAccount !== false) {
            // IRSA reaches the assets role through an AWS config profile (role_arn + source_profile). boto3 and the AWS CLI
            // follow it; the AWS SDK for C++ (pyarrow: Ray Data, Ray Train's storage_path) does not: its default chain
            // reads static keys from the profile and takes web identity from AWS_ROLE_ARN, so it gets the workload role.
            pulumi.log.warn(IRSA_CHAIN_WARNING, this);
        }
        const workloadPolicy: pulumi.Input<string> = assets?.workloadPolicy ?? permissionsPolicy;
        const policy = new aws.iam.Policy(
            `${name}-policy`,
            {
                path: args.rolePath,
                description: describe((workload) =>
                    assets ? `Assume the assets role for ${workload} (ray-s3-access)` : `Least-privilege S3 access for ${workload} (ray-s3-access)`,
                ),
                policy: workloadPolicy,
                tags: args.tags,
            },
            childOpts,
        );
        new aws.iam.RolePolicyAttachment(`${name}-policy-attachment`, { role: role.name, policyArn: policy.arn }, childOpts);
        valid.additionalPolicyArns.forEach((arn, index) => {
            // An Output's child is named by its place in the list: its ARN is not known yet.
            const deferred = valid.deferred.policyArns[index];
            new aws.iam.RolePolicyAttachment(
                deferred ? `${name}-extra-${index}` : `${name}-extra-${policyArnSuffix(arn)}`,
                { role: role.name, policyArn: deferred ? late!.apply((v) => v.additionalPolicyArns[index]) : arn },
                childOpts,
            );
        });

        // The identity's own children: ServiceAccounts, associations, IRSA's chained profile.
        const { podIdentityAssociationId, podEnvironment, externalIds } = valid.strategy.handOver({
            name,
            args,
            valid,
            opts: childOpts,
            roleArn: role.arn,
            assetsRoleArn: assets?.arn,
            accounts: [
                { suffix: "", namespace, name: serviceAccountName },
                ...valid.additionalServiceAccounts.map((ref) => ({ suffix: `-${refSuffix(ref)}`, namespace: ref.namespace, name: ref.name })),
            ],
            clusterWithAgent: (cluster) =>
                clusterWithAgent(
                    name,
                    valid.podIdentityAgent,
                    { clusterName: cluster.clusterName, provider: cluster.provider, resourceName: `${name}-pod-identity-agent${cluster.suffix}` },
                    this,
                    `${RAY_S3_ACCESS_TYPE}::${name}`,
                    args.tags,
                ),
            sessionPolicyOf: (account) => {
                const find = (v: ValidatedArgs) => v.sessionPolicies.find((e) => e.ref.namespace === account.namespace && e.ref.name === account.name);
                const entry = find(valid);
                if (!entry) return undefined;
                if (!late) return pulumi.all([partition, location]).apply(([p, where]) => checkedSessionPolicy(name, entry, p, where));
                return late.apply((v) => pulumi.all([partition, locationOf(v)]).apply(([p, where]) => checkedSessionPolicy(name, find(v)!, p, where)));
            },
        });

        if (args.mountpointVolumes) this.mountpointVolumes(name, valid, late, namespace, childOpts);
        this.directoryAccessPoints(name, valid, late, role, partition, location, childOpts);

        // Pod Identity's chain: the assets role's trust needs every association's external id, so it comes last.
        assets?.finish(externalIds);

        this.roleArn = role.arn;
        this.roleName = role.name;
        this.policyArn = policy.arn;
        lazyOutputSources.set(this, {
            namespace,
            serviceAccountName,
            trustPolicy,
            permissionsPolicy: workloadPolicy,
            oidcProviderArn,
            podIdentityAssociationId,
            assetsRoleArn: assets ? assets.arn : "",
            podEnvironment,
        });
        // The outputs are the public properties (and the multi-language host reads them from there).
        // Registering them again would serialize eleven Outputs per tenant into the component's state: at 1,000
        // tenants that alone costs about 10% more evaluation time (see `npm run bench`).
        this.registerOutputs({});
    }

    /**
     * `createAccessPoint`: per directory bucket entry, an access point for directory buckets whose scope holds the
     * entry's prefixes and its access level's operations, and whose policy admits only the role (in the same session
     * mode as the role's own policy).
     */
    private directoryAccessPoints(
        name: string,
        valid: ValidatedArgs,
        late: pulumi.Output<ValidatedArgs> | undefined,
        role: aws.iam.Role,
        partition: pulumi.Input<string>,
        location: pulumi.Input<BucketLocation | undefined>,
        childOpts: pulumi.CustomResourceOptions,
    ): void {
        valid.buckets.forEach((planned, index) => {
            const accessPoint = planned.directory?.accessPoint;
            if (!accessPoint?.create) return;
            // A bucket or access point name given as an Output: the child is named by the entry's place in the list.
            const deferredName = valid.deferred.bucketNames[index] || valid.deferred.accessPointNames[index];
            const resourceName = deferredName ? `${name}-ap-${index}` : `${name}-ap-${accessPoint.name.replace(/--xa-s3$/, "")}`;
            const bucket: pulumi.Input<ResolvedBucketAccess> = late ? late.apply((v) => v.buckets[index]) : planned;
            const policy = pulumi
                .all([partition, location, role.arn, bucket])
                .apply(([p, where, roleArn, b]) => compactJson(buildDirectoryAccessPointPolicy(p, b, roleArn, where)));
            const accessPointName = pulumi.output(bucket).apply((b) => b.directory!.accessPoint!.name);
            const created = new aws.s3.AccessPoint(
                resourceName,
                { bucket: late ? pulumi.output(bucket).apply((b) => b.bucket) : planned.bucket, name: late ? accessPointName : accessPoint.name, policy },
                childOpts,
            );
            new aws.s3control.DirectoryBucketAccessPointScope(
                `${resourceName}-scope`,
                {
                    accountId: pulumi.all([location, bucket]).apply(([where, b]) => b.directory!.account ?? where!.account),
                    name: late ? accessPointName : accessPoint.name,
                    scope: late ? pulumi.output(bucket).apply(directoryAccessPointScope) : directoryAccessPointScope(planned),
                },
                { ...childOpts, dependsOn: [created] },
            );
        });
    }

    /** One Mountpoint volume per bucket entry and prefix, in the workload's namespace, mounted with the pod's credentials. */
    private mountpointVolumes(
        name: string,
        valid: ValidatedArgs,
        late: pulumi.Output<ValidatedArgs> | undefined,
        namespace: pulumi.Input<string>,
        childOpts: pulumi.CustomResourceOptions,
    ): void {
        const region = regionOf(this);
        valid.buckets.forEach((planned, index) => {
            // With Outputs among the entries, the names and the storage kind come from the resolved arguments.
            const bucket: pulumi.Input<ResolvedBucketAccess> = late ? late.apply((v) => v.buckets[index]) : planned;
            const of = <T>(pick: (b: ResolvedBucketAccess) => T): pulumi.Input<T> => (late ? pulumi.output(bucket).apply(pick) : pick(planned));
            for (const prefix of planned.prefixes.length > 0 ? planned.prefixes : [undefined]) {
                const claimName = of((b) => kubernetesName(["s3", b.bucket, prefix ?? ""]));
                createMountpointVolume(
                    {
                        // A bucket given as an Output: the child is named by the entry's place in the list.
                        resourceName: `${name}-mp-${valid.deferred.bucketNames[index] ? kubernetesName(["s3", `output-${index}`, prefix ?? ""]) : kubernetesName(["s3", planned.bucket, prefix ?? ""])}`,
                        namespace,
                        claimName,
                        bucket: of((b) => b.bucket),
                        prefix,
                        readOnly: planned.access === "read",
                        allowDelete: planned.access === "readWrite" || planned.allowDelete === true,
                        region,
                        // Pods on IRSA need the STS region: Mountpoint's pods may have no instance metadata to ask.
                        stsRegion: valid.strategy.webIdentity ? region : undefined,
                        expressCache: of((b) => b.expressCache?.bucket),
                        zoneId: of((b) => b.directory?.zoneId),
                    },
                    childOpts,
                );
            }
        });
    }

    /**
     * The assets account's role and policy (buckets in another account). With Pod Identity alone, EKS passes each
     * association's external id when it chains, and the associations must name the assets role: its ARN is computed
     * from a deterministic name so the associations come first, and `finish` creates the role with their ids in its
     * trust. Otherwise the role is created at once.
     */
    private assetsAccount(
        name: string,
        args: RayS3AccessArgs,
        valid: ValidatedArgs,
        role: aws.iam.Role,
        permissionsPolicy: pulumi.Input<string>,
        partition: pulumi.Input<string>,
        describe: (text: (workload: string) => string) => pulumi.Input<string>,
    ): { arn: pulumi.Output<string>; workloadPolicy: pulumi.Output<string>; finish(externalIds?: pulumi.Output<string>[]): void } {
        const assetsOpts: pulumi.CustomResourceOptions = { parent: this, provider: args.assetsProvider };
        const chain = { tagSession: valid.strategy.podIdentity };
        const pinsExternalIds = valid.identity === IdentityType.PodIdentity;
        const roleName = pinsExternalIds ? assetsRoleName(name) : undefined;
        const createRole = (externalIds: pulumi.Output<string>[] = []) => {
            const assetsRole = new aws.iam.Role(
                `${name}-assets-role`,
                {
                    name: roleName,
                    path: args.rolePath,
                    description: describe((workload) => `S3 access for ${workload}, assumed from its workload role (ray-s3-access)`),
                    assumeRolePolicy: pulumi
                        .all([role.arn, pulumi.output(args.assetsExternalId), pulumi.all(externalIds)])
                        .apply(([arn, given, ids]) => compactJson(buildAssetsTrustPolicy(arn, { ...chain, externalId: pinsExternalIds ? ids : given }))),
                    maxSessionDuration: valid.maxSessionDuration,
                    tags: args.tags,
                },
                assetsOpts,
            );
            const assetsPolicy = new aws.iam.Policy(
                `${name}-assets-policy`,
                {
                    path: args.rolePath,
                    description: describe((workload) => `Least-privilege S3 access for ${workload} (ray-s3-access)`),
                    policy: permissionsPolicy,
                    tags: args.tags,
                },
                assetsOpts,
            );
            new aws.iam.RolePolicyAttachment(`${name}-assets-policy-attachment`, { role: assetsRole.name, policyArn: assetsPolicy.arn }, assetsOpts);
            return assetsRole;
        };
        let arn: pulumi.Output<string>;
        let finish: (externalIds?: pulumi.Output<string>[]) => void = () => undefined;
        if (pinsExternalIds) {
            const account = aws.getCallerIdentityOutput({}, { parent: this, provider: args.assetsProvider }).accountId;
            arn = pulumi.interpolate`arn:${partition}:iam::${account}:role${args.rolePath ?? "/"}${roleName}`;
            finish = (externalIds) => void createRole(externalIds);
        } else {
            arn = createRole().arn;
        }
        return { arn, workloadPolicy: arn.apply((a) => compactJson(buildAssumeAssetsPolicy(a, chain))), finish };
    }

    /**
     * The role's trust policy, from the identity's strategy: with the OIDC provider of every cluster (IRSA), the
     * account and every cluster's name (Pod Identity). Built from plain inputs when they decide it, else when the
     * values resolve, and checked against the quota either way.
     */
    private trust(
        name: string,
        args: RayS3AccessArgs,
        valid: ValidatedArgs,
        known: KnownDocuments,
        partition: pulumi.Input<string>,
        subjects: pulumi.Input<ServiceAccountRef[]>,
        childOpts: pulumi.CustomResourceOptions,
    ): { oidcProviderArn: pulumi.Input<string>; trustPolicy: pulumi.Input<string> } {
        const { strategy } = valid;
        let oidcProviderArn: pulumi.Input<string> = "";
        let providerArns: pulumi.Input<string[]> = [];
        if (strategy.webIdentity) {
            oidcProviderArn = this.resolveOidcProvider(name, args, partition, childOpts);
            const more = valid.additionalClusters.map((cluster, index) => this.resolveAdditionalOidcProvider(name, cluster, index, partition));
            providerArns = pulumi.all([oidcProviderArn, ...more]);
        }
        const clusterNames: pulumi.Input<string[]> = strategy.podIdentity
            ? pulumi.all([args.clusterName!, ...valid.additionalClusters.map((c) => c.clusterName!)])
            : [];
        const trustPolicy =
            known.trustPolicy ??
            pulumi
                .all([providerArns, strategy.podIdentity ? accountIdOf(this) : "", clusterNames, subjects])
                .apply(([arns, accountId, clusters, refs]) =>
                    checkedTrustPolicy(name, valid, refs.length, buildTrustPolicy(valid.identity, trustScope(valid, arns, accountId, clusters, refs))),
                );
        return { oidcProviderArn, trustPolicy };
    }

    /**
     * An additional cluster's OIDC provider ARN: given (checked when it resolves), derived from its issuer URL, or
     * from its cluster's issuer, looked up with the cluster's provider.
     */
    private resolveAdditionalOidcProvider(name: string, cluster: AdditionalCluster, index: number, partition: pulumi.Input<string>): pulumi.Input<string> {
        const field = `additionalClusters[${index}]`;
        const checked = (key: "oidcProviderArn" | "oidcIssuerUrl", value: pulumi.Input<string>) =>
            pulumi.output(value).apply((resolved) => {
                const problem = resolvedValueProblem(key, resolved, `${field}.${key}`);
                if (problem) throw new RayS3AccessValidationError(name, [problem]);
                return resolved;
            });
        if (cluster.oidcProviderArn !== undefined) {
            return typeof cluster.oidcProviderArn === "string" ? cluster.oidcProviderArn : checked("oidcProviderArn", cluster.oidcProviderArn);
        }
        const issuerUrl =
            cluster.oidcIssuerUrl !== undefined
                ? checked("oidcIssuerUrl", cluster.oidcIssuerUrl)
                : aws.eks.getClusterOutput({ name: cluster.clusterName! }, { parent: this, provider: cluster.provider }).identities.apply((identities) => {
                      const issuer = identities?.[0]?.oidcs?.[0]?.issuer;
                      if (!issuer) {
                          throw new RayS3AccessValidationError(name, [
                              `${field}.clusterName: the cluster "${cluster.clusterName}" has no OIDC issuer: enable it`,
                          ]);
                      }
                      return issuer;
                  });
        return pulumi.interpolate`arn:${partition}:iam::${accountIdOf(this)}:oidc-provider/${issuerUrl.apply(issuerHostPath)}`;
    }

    /** The ARN of the OIDC provider to trust: given, created for the issuer, or derived from the issuer. */
    private resolveOidcProvider(
        name: string,
        args: RayS3AccessArgs,
        partition: pulumi.Input<string>,
        childOpts: pulumi.CustomResourceOptions,
    ): pulumi.Input<string> {
        if (args.oidcProviderArn !== undefined) {
            return args.oidcProviderArn;
        }
        const issuerUrl =
            args.oidcIssuerUrl !== undefined
                ? pulumi.output(args.oidcIssuerUrl)
                : aws.eks.getClusterOutput({ name: args.clusterName! }, { parent: this }).identities.apply((identities) => {
                      const issuer = identities?.[0]?.oidcs?.[0]?.issuer;
                      if (!issuer) {
                          throw new RayS3AccessValidationError(name, [`clusterName: the cluster has no OIDC issuer: enable it, or use identity "podIdentity"`]);
                      }
                      return issuer;
                  });
        if (args.createOidcProvider) {
            const audiences = [...new Set([STS_AUDIENCE, args.webIdentityToken?.audience ?? STS_AUDIENCE])];
            return new aws.iam.OpenIdConnectProvider(`${name}-oidc`, { url: issuerUrl, clientIdLists: audiences, tags: args.tags }, childOpts).arn;
        }
        return pulumi.interpolate`arn:${partition}:iam::${accountIdOf(this)}:oidc-provider/${issuerUrl.apply(issuerHostPath)}`;
    }
}

/** What an IRSA component with buckets in another account says about the SDKs that cannot follow its profile chain. */
export const IRSA_CHAIN_WARNING =
    "buckets in another account under IRSA: pods reach the assets role through the AWS config profile the component writes, which boto3 and the AWS CLI follow " +
    "but the AWS SDK for C++ does not (its default chain takes AWS_ROLE_ARN's web identity and no profile role), so code that reads S3 through pyarrow " +
    "(Ray Data's read_parquet, Ray Train's storage_path) gets the workload role and AccessDenied on these buckets; with identity \"podIdentity\" EKS chains " +
    "into the assets role for every SDK";

/** A stand-in issuer measured in place of one that is looked up. */
const PLACEHOLDER_ISSUER = "oidc.eks.xx-xxxxxxxxx-1.amazonaws.com/id/XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX";

/**
 * The arguments with each Output (or Promise) value replaced by one that fails with the rule's own message
 * when it resolves to a bad value: a resource that would use it is never registered with it.
 */
function checkedWhenResolved(name: string, args: RayS3AccessArgs): RayS3AccessArgs {
    let checked: { -readonly [K in keyof RayS3AccessArgs]: RayS3AccessArgs[K] } | undefined;
    for (const field of DEFERRED_CHECKED_FIELDS) {
        const value = args[field];
        if (!isDeferred(value)) continue;
        checked ??= { ...args };
        (checked as Record<string, unknown>)[field] = pulumi.output(value as pulumi.Input<string>).apply((resolved) => {
            const problem = resolvedValueProblem(field, resolved);
            if (problem) throw new RayS3AccessValidationError(name, [`${problem} (an Output that resolved at deployment)`]);
            return resolved;
        });
    }
    return checked ?? args;
}

/**
 * The arguments validated again once every Output in a bucket entry or policy ARN has resolved: the same rules and
 * messages as for plain values, and each resolved ARN in the stack's partition. Until then, nothing built from them
 * reaches a resource.
 */
function lateValidated(name: string, args: RayS3AccessArgs, partition: pulumi.Input<string>): pulumi.Output<ValidatedArgs> {
    const fields = { buckets: args.buckets, sessionPolicies: args.sessionPolicies, additionalPolicyArns: args.additionalPolicyArns };
    return pulumi.all([pulumi.output(fields), partition]).apply(([resolved, p]) => {
        const full: RayS3AccessArgs = { ...args, buckets: resolved.buckets };
        if (resolved.sessionPolicies !== undefined) Object.assign(full, { sessionPolicies: resolved.sessionPolicies });
        if (resolved.additionalPolicyArns !== undefined) Object.assign(full, { additionalPolicyArns: resolved.additionalPolicyArns });
        try {
            const valid = validateArgs(name, full);
            const problems = plainArns(full)
                .filter(([, arn]) => arn.split(":")[1] !== p)
                .map(
                    ([field, arn]) =>
                        `${field} "${arn}" is in partition "${arn.split(":")[1]}" but the stack's AWS provider is in "${p}": every ARN must be in the partition of the stack's AWS provider`,
                );
            if (problems.length > 0) throw new RayS3AccessValidationError(name, problems);
            return valid;
        } catch (error) {
            if (!(error instanceof RayS3AccessValidationError)) throw error;
            throw new RayS3AccessValidationError(
                name,
                error.problems.map((problem) => `${problem} (an Output that resolved at deployment)`),
            );
        }
    });
}

/** The outputs built on first read, and the values (plain or Output) they are built from. */
const LAZY_OUTPUTS = [
    "namespace",
    "serviceAccountName",
    "trustPolicy",
    "permissionsPolicy",
    "oidcProviderArn",
    "podIdentityAssociationId",
    "assetsRoleArn",
    "podEnvironment",
] as const;
type LazyOutputName = (typeof LAZY_OUTPUTS)[number];
type LazyOutputSources = { [K in LazyOutputName]: pulumi.Input<RayS3Access[K] extends pulumi.Output<infer T> ? T : never> };

/** Kept outside the instance, so the schema analyzer sees no extra property. */
const lazyOutputSources = new WeakMap<RayS3Access, LazyOutputSources>();

for (const key of LAZY_OUTPUTS) {
    Object.defineProperty(RayS3Access.prototype, key, {
        configurable: true,
        enumerable: false,
        get(this: RayS3Access) {
            const sources = lazyOutputSources.get(this);
            if (sources === undefined) {
                return undefined;
            }
            // Built once per instance; later reads get the same Output.
            const value = pulumi.output(sources[key]);
            Object.defineProperty(this, key, { value, enumerable: true });
            return value;
        },
    });
}

function managedPolicyLengthProblem(length: number): string {
    return (
        `buckets: the S3 policy would be ${length} characters (without white space), over IAM's managed-policy quota of ` +
        `${MANAGED_POLICY_MAX_LENGTH}: split the buckets across components, or drop prefixes that a shorter common prefix covers`
    );
}

function checkedTrustPolicy(name: string, valid: ValidatedArgs, subjects: number, document: object): string {
    const json = compactJson(document);
    const problem = trustPolicyLengthProblem(iamJsonLength(json), valid.trustPolicyMaxLength, valid.identity, subjects);
    if (problem) {
        throw new RayS3AccessValidationError(name, [problem]);
    }
    return json;
}

/** The assets role's name when its ARN must be known before it exists: from the component's name, stable, at most 64 characters. */
function assetsRoleName(name: string): string {
    const base = `${name}-assets`.replace(/[^\w+=,.@-]/g, "-").slice(0, 55);
    return `${base}-${shortHash(name)}`;
}

/** Everything the trust document depends on, from the validated arguments and the resolved values. */
function trustScope(valid: ValidatedArgs, providerArns: string[], accountId: string, clusterNames: string[], refs: ServiceAccountRef[]): TrustScope {
    return {
        providerArns,
        accountId,
        clusterNames,
        serviceAccounts: refs,
        roleSharing: valid.roleSharing,
        audience: valid.webIdentityToken.audience,
        sessionTags: !valid.disableSessionTags,
    };
}

/** EKS's limit for an association's session policy, in characters. */
export const SESSION_POLICY_MAX_LENGTH = 2048;

function checkedSessionPolicy(name: string, entry: ResolvedSessionPolicy, partition: string, location?: BucketLocation): string {
    const json = compactJson(buildS3PermissionsPolicy(partition, entry.buckets, {}, location));
    if (json.length > SESSION_POLICY_MAX_LENGTH) {
        throw new RayS3AccessValidationError(name, [
            `sessionPolicies: the session policy of ${entry.ref.namespace}:${entry.ref.name} would be ${json.length} characters, over EKS's limit of ${SESSION_POLICY_MAX_LENGTH} for an association's policy: give it fewer buckets or prefixes`,
        ]);
    }
    return json;
}

/** Do some buckets need the provider's region and account (directory buckets named without their ARN, aliases)? */
function needsLocation(valid: ValidatedArgs): boolean {
    return [...valid.buckets, ...valid.sessionPolicies.flatMap((e) => e.buckets)].some(
        (b) =>
            (b.directory && (b.directory.region === undefined || b.directory.accessPoint?.create)) ||
            (b.expressCache && b.expressCache.region === undefined) ||
            b.accessPoint?.alias !== undefined,
    );
}

/** Are some access points named by alias? */
function hasAliases(valid: ValidatedArgs): boolean {
    return valid.buckets.some((b) => b.accessPoint?.alias !== undefined);
}

/**
 * The arguments with every access point alias replaced by its access point's ARN, from the provider's account's
 * access points. Without a list (an engine that cannot ask AWS), a stand-in ARN in the provider's region and
 * account, named after the alias. An alias no access point has is refused, naming where it was looked for.
 */
function withAliasesResolved(
    name: string,
    valid: ValidatedArgs,
    partition: string,
    location: BucketLocation,
    byAlias: Record<string, string> | undefined,
): ValidatedArgs {
    const { buckets, missing } = withAccessPointArns(valid.buckets, (alias) =>
        byAlias === undefined ? `arn:${partition}:s3:${location.region}:${location.account}:accesspoint/${alias}` : byAlias[alias],
    );
    const problems = missing.map(
        (alias) =>
            `buckets[${valid.buckets.findIndex((b) => b.accessPoint?.alias === alias)}].bucket "${alias}": no access point of account ${location.account} in ${location.region} (the AWS provider's) has this alias; ` +
            `check the alias, or give the access point's ARN (an access point of another account or region cannot be looked up by alias)`,
    );
    if (problems.length > 0) throw new RayS3AccessValidationError(name, problems);
    return { ...valid, buckets };
}

/**
 * A directory bucket's zone must be in the region it is reached in, and an access point the component creates must
 * be in the provider's account (checked once the real region and account are known).
 */
function assertZonesIn(name: string, valid: ValidatedArgs, location: BucketLocation): void {
    const problems: string[] = [];
    const zonePrefix = zoneIdPrefix(location.region);
    for (const b of valid.buckets) {
        const places = [
            ...(b.directory
                ? [{ what: b.directory.accessPoint && !b.directory.accessPoint.create ? "access point" : "directory bucket", name: b.bucket, at: b.directory }]
                : []),
            ...(b.expressCache ? [{ what: "shared-cache directory bucket", name: b.expressCache.bucket, at: b.expressCache }] : []),
        ];
        for (const { what, name: where, at } of places) {
            if (at.region === undefined && at.zoneId.split("-")[0] !== zonePrefix) {
                problems.push(
                    `buckets: the ${what} "${where}" is in zone ${at.zoneId}, but the stack's AWS provider is in ${location.region} (zones "${zonePrefix}-..."): ` +
                        `a directory bucket is reached in its own region; give its ARN (arn:PARTITION:s3express:REGION:ACCOUNT:bucket/NAME) or use a provider for its region`,
                );
            }
        }
        const created = b.directory?.accessPoint?.create ? b.directory : undefined;
        if (created && ((created.account ?? location.account) !== location.account || (created.region ?? location.region) !== location.region)) {
            problems.push(
                `buckets: createAccessPoint on "${b.bucket}" (${created.region ?? location.region}, account ${created.account ?? location.account}): the component creates the access point with its own AWS provider (${location.region}, account ${location.account}); ` +
                    `use a provider for the bucket's region and account, or create the access point there and list its ARN`,
            );
        }
    }
    if (problems.length > 0) throw new RayS3AccessValidationError(name, problems);
}

function checkedPermissionsPolicy(name: string, valid: ValidatedArgs, partition: string, clusterNames: string[], location?: BucketLocation): string {
    const scope = valid.roleSharing === RoleSharing.Abac ? abacScope(clusterNames) : {};
    const document = buildS3PermissionsPolicy(partition, valid.buckets, scope, location);
    const json = compactJson(document);
    const length = iamJsonLength(json);
    if (length > MANAGED_POLICY_MAX_LENGTH) {
        throw new RayS3AccessValidationError(name, [managedPolicyLengthProblem(length)]);
    }
    return json;
}

/**
 * What the constructor checks before it registers anything: the arguments, and the documents their plain values
 * decide measured against IAM's quotas. Throws RayS3AccessValidationError listing every problem. The stack
 * config's validation runs it for every tenant before a program registers its first resource.
 */
export function checkBeforeRegistration(name: string, args: RayS3AccessArgs, context: ValidationContext = {}): void {
    documentsFromPlainInputs(name, args, validateArgs(name, args, context));
}

/** The documents that plain inputs already decide, built once, before anything is registered. */
interface KnownDocuments {
    partition?: string;
    trustPolicy?: string;
    permissionsPolicy?: string;
}

/**
 * Builds the trust and permission documents from plain inputs, so an oversized document fails before anything
 * is registered. Where a value is only known later (the account, a looked-up issuer, the partition), a
 * stand-in of the same length measures the document now, and the real one is built and checked again once
 * the value is known.
 */
function documentsFromPlainInputs(name: string, args: RayS3AccessArgs, valid: ValidatedArgs): KnownDocuments {
    const problems: string[] = [];
    const known: KnownDocuments = {
        // Every plain ARN is in one partition (validated): the first one says which, so no lookup is needed.
        partition: plainArns(args)[0]?.[1].split(":")[1],
    };
    const check = (measure: () => string): string | undefined => {
        try {
            return measure();
        } catch (error) {
            if (!(error instanceof RayS3AccessValidationError)) throw error;
            problems.push(...error.problems);
            return undefined;
        }
    };
    // Documents that name the cluster: one given as an Output is measured with a stand-in (the longest name EKS
    // allows) and built later.
    const cluster = typeof args.clusterName === "string" ? args.clusterName : undefined;
    const clusterNames = [cluster ?? "x".repeat(100), ...valid.additionalClusters.map((c) => c.clusterName ?? "")];
    // Directory buckets named without their ARN: measured in a stand-in region and account of the longest length.
    const standInLocation = needsLocation(valid) ? { region: "xx-xxxxxxxxx-1", account: PLACEHOLDER_ACCOUNT } : undefined;
    // Bucket entries given as Outputs: their documents are built and measured when they resolve. Access point aliases:
    // measured with a stand-in ARN named after the alias (longer than any access point's name).
    const permissions = valid.deferred.late
        ? undefined
        : check(() => {
              const measured = hasAliases(valid) ? withAliasesResolved(name, valid, known.partition ?? "aws", standInLocation!, undefined) : valid;
              return checkedPermissionsPolicy(name, measured, known.partition ?? "aws", clusterNames, standInLocation);
          });
    if (known.partition !== undefined && !standInLocation && !valid.deferred.late && (valid.roleSharing !== RoleSharing.Abac || cluster !== undefined)) {
        known.permissionsPolicy = permissions;
    }
    if (valid.namespace !== undefined && valid.serviceAccountName !== undefined) {
        const refs = [{ namespace: valid.namespace, name: valid.serviceAccountName }, ...valid.additionalServiceAccounts];
        // Each cluster's provider: its ARN when given, else a stand-in of the same length (from the issuer URL, or
        // the longest issuer EKS writes when it is looked up).
        const standIn = (issuer: unknown) =>
            `arn:${known.partition ?? "aws"}:iam::${PLACEHOLDER_ACCOUNT}:oidc-provider/${typeof issuer === "string" ? issuerHostPath(issuer) : PLACEHOLDER_ISSUER}`;
        const providers = [args, ...valid.additionalClusters].map((c) =>
            typeof c.oidcProviderArn === "string" ? c.oidcProviderArn : standIn(c.oidcIssuerUrl),
        );
        const allGiven = [args, ...valid.additionalClusters].every((c) => typeof c.oidcProviderArn === "string");
        const scope = trustScope(valid, providers, PLACEHOLDER_ACCOUNT, clusterNames, refs);
        const trust = check(() => checkedTrustPolicy(name, valid, refs.length, buildTrustPolicy(valid.identity, scope)));
        if (valid.identity === IdentityType.Irsa && allGiven) known.trustPolicy = trust;
    }
    if (!valid.deferred.late) {
        for (const entry of valid.sessionPolicies) check(() => checkedSessionPolicy(name, entry, known.partition ?? "aws-us-gov", standInLocation));
    }
    if (problems.length > 0) {
        throw new RayS3AccessValidationError(name, problems);
    }
    return known;
}
