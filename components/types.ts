import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/**
 * How pods get the role's credentials.
 *
 * `irsa`: IAM Roles for Service Accounts. The pod's projected service-account token is exchanged through the
 * cluster's IAM OIDC provider (`sts:AssumeRoleWithWebIdentity`); the ServiceAccount carries the role ARN.
 * `podIdentity`: EKS Pod Identity. The EKS Pod Identity Agent assumes the role for the pod
 * (`pods.eks.amazonaws.com`, `sts:AssumeRole` + `sts:TagSession`) through a Pod Identity association.
 * `irsaAndPodIdentity`: both at once, for the migration from IRSA to Pod Identity without a cut-over: the trust
 * admits both, the ServiceAccount keeps its annotation and the associations exist. New pods get Pod Identity (EKS
 * gives an association precedence over the annotation); pods created before keep IRSA until they restart.
 */
export const IdentityType = {
    Irsa: "irsa",
    PodIdentity: "podIdentity",
    IrsaAndPodIdentity: "irsaAndPodIdentity",
} as const;
/** See {@link IdentityType}. */
export type IdentityType = (typeof IdentityType)[keyof typeof IdentityType];

/**
 * The EKS Pod Identity agent (the `eks-pod-identity-agent` add-on), without which associations do nothing.
 *
 * `require`: when the cluster's name is known, fail the deployment (before any association) if the cluster has
 * neither the add-on nor EKS Auto Mode (which builds the agent in). `create`: add the add-on when the cluster has
 * none; one that exists is left alone (it is someone else's), and one this component created is kept. `ignore`:
 * no check (the agent runs another way, a DaemonSet of your own).
 */
export const PodIdentityAgent = {
    Require: "require",
    Create: "create",
    Ignore: "ignore",
} as const;
/** See {@link PodIdentityAgent}. */
export type PodIdentityAgent = (typeof PodIdentityAgent)[keyof typeof PodIdentityAgent];

/**
 * What the component does with the Kubernetes ServiceAccount(s) the role trusts.
 *
 * `create`: create each ServiceAccount (annotated with `eks.amazonaws.com/role-arn` for IRSA).
 * `patch`: annotate existing ServiceAccounts with a server-side-apply patch (IRSA; nothing to patch for Pod
 * Identity). `none`: leave Kubernetes alone (another tool or Helm chart owns the ServiceAccount).
 */
export const ServiceAccountMode = {
    Create: "create",
    Patch: "patch",
    None: "none",
} as const;
/** See {@link ServiceAccountMode}. */
export type ServiceAccountMode = (typeof ServiceAccountMode)[keyof typeof ServiceAccountMode];

/**
 * How many workloads one role serves.
 *
 * `perTenant`: the role trusts exactly this component's service accounts. `abac` (Pod Identity only): one
 * role for every service account of the component, each session reaching only `bucket/<its namespace>/...`
 * through the `kubernetes-namespace` session tag, and only from the cluster (`eks-cluster-name`); the trust
 * pins the cluster and the account, not the namespaces, so it does not grow with them. `sessionPolicy` (Pod
 * Identity only): one role whose policy is `buckets` (the union), and each service account's association carries
 * its own least-privilege document (`sessionPolicies`) as the session policy, so its pods get the intersection;
 * EKS requires session tags off for that, so the trust pins only the account.
 */
export const RoleSharing = {
    PerTenant: "perTenant",
    Abac: "abac",
    SessionPolicy: "sessionPolicy",
} as const;
/** See {@link RoleSharing}. */
export type RoleSharing = (typeof RoleSharing)[keyof typeof RoleSharing];

/**
 * The S3 access a bucket entry grants. `mountpoint`: exactly what Mountpoint for Amazon S3 needs to mount the
 * bucket (or prefix) as files: ListBucket, GetObject, PutObject, AbortMultipartUpload, and DeleteObject only with
 * `allowDelete`.
 */
export const AccessLevel = {
    Read: "read",
    ReadWrite: "readWrite",
    Mountpoint: "mountpoint",
} as const;
/** See {@link AccessLevel}. */
export type AccessLevel = (typeof AccessLevel)[keyof typeof AccessLevel];

/**
 * What kind of bucket an entry names. `generalPurpose`: an ordinary S3 bucket. `directory`: an S3 Express One
 * Zone directory bucket (`NAME--ZONEID--x-s3`), reached through `s3express:CreateSession`.
 */
export const BucketKind = {
    GeneralPurpose: "generalPurpose",
    Directory: "directory",
} as const;
/** See {@link BucketKind}. */
export type BucketKind = (typeof BucketKind)[keyof typeof BucketKind];

/** One bucket the workload may use, and how. */
export interface BucketAccess {
    /**
     * The bucket's name (`my-bucket`, or a directory bucket's `ckpt--usw2-az1--x-s3`) or ARN (`arn:aws:s3:::my-bucket`,
     * `arn:aws:s3express:us-west-2:111122223333:bucket/ckpt--usw2-az1--x-s3`), or an access point's ARN
     * (`arn:aws:s3:us-west-2:111122223333:accesspoint/NAME`: granted on it and its objects; the bucket's policy must
     * delegate to access points) or alias (`NAME-RANDOM-s3alias`: its ARN is looked up among the provider's
     * account's access points in its region), or an access point for a directory bucket's ARN or name
     * (`arn:aws:s3express:us-west-2:111122223333:accesspoint/ckpt-ap--usw2-az1--xa-s3`: `CreateSession` on it; its
     * scope decides the prefixes). Not an `s3://` URL. May be an Output (`new aws.s3.BucketV2(...).bucket`): it is
     * checked with the same rules when it resolves, and its kind is decided from `kind`, its ARN or its resolved name.
     */
    readonly bucket: pulumi.Input<string>;
    /**
     * `generalPurpose` or `directory` (S3 Express One Zone): see {@link BucketKind}. A directory bucket is granted
     * `s3express:CreateSession` on its `s3express` ARN (in the provider's region and account unless its ARN is
     * given), with `s3express:SessionMode` `ReadOnly` for `read`; `prefixes` cannot be enforced inside it.
     * @default - from the name: `--x-s3` names are directory buckets
     */
    readonly kind?: BucketKind;
    /**
     * `read`: GetObject, GetObjectVersion, ListBucket, GetBucketLocation. `readWrite` adds PutObject,
     * DeleteObject and the multipart-upload actions large checkpoints need.
     * @default "readWrite"
     */
    readonly access?: AccessLevel;
    /**
     * `mountpoint` access only: let Mountpoint delete files (`s3:DeleteObject`, and the `allow-delete` mount option).
     * @default false
     */
    readonly allowDelete?: boolean;
    /**
     * Key prefixes the workload is limited to (`checkpoints/`). Objects are limited to `bucket/PREFIX*` and
     * ListBucket to an `s3:prefix` of `PREFIX*`. No `*`, `?` or leading `/`; a list given is not empty, each prefix once.
     * @default - the whole bucket
     */
    readonly prefixes?: string[];
    /**
     * KMS keys (key ARNs) that encrypt the bucket's objects: `kms:Decrypt` is granted on them, and
     * `kms:GenerateDataKey` too for `readWrite`.
     * Each may be an Output (`new aws.kms.Key(...).arn`), checked when it resolves.
     * @default - no KMS permissions
     */
    readonly kmsKeyArns?: pulumi.Input<string>[];
    /**
     * Directory buckets with `prefixes`: enforce the prefixes through an access point for directory buckets that the
     * component creates in the bucket's zone. Its scope holds the prefixes (`PREFIX*`, 256 bytes in all) and the
     * operations of `access`; its policy admits only the role; the role gets `s3express:CreateSession` on the access
     * point instead of the bucket. The bucket's own policy must delegate to access points (see the README). Pods use
     * the access point's name as the bucket.
     * @default false
     */
    readonly createAccessPoint?: boolean;
    /**
     * With `createAccessPoint`: the access point's name, `BASE--ZONEID--xa-s3` in the bucket's zone (BASE 3 to 50
     * lower-case letters, digits and `-`), unique in the zone.
     * @default - `<component name>-<8 hex>--ZONEID--xa-s3`, stable for a component and bucket
     */
    readonly accessPointName?: pulumi.Input<string>;
    /**
     * `mountpoint` access on a general-purpose bucket: a directory bucket (name or ARN) Mountpoint uses as its shared
     * cache. The role gets `s3express:CreateSession` on it (Mountpoint writes cache blocks), and the volume the
     * `cache-xz` mount option.
     * @default - no shared cache
     */
    readonly expressCache?: pulumi.Input<string>;
}

/**
 * Another EKS cluster whose pods the same role serves (blue/green upgrades, disaster recovery): the same rules as
 * the top-level `clusterName`, `oidcProviderArn` and `oidcIssuerUrl`.
 */
export interface AdditionalCluster {
    /**
     * The cluster's name. Required for Pod Identity (its associations and the trust's `eks-cluster-name` pin);
     * for IRSA, where its OIDC issuer is looked up when neither `oidcProviderArn` nor `oidcIssuerUrl` is given.
     * @default - none
     */
    readonly clusterName?: string;
    /**
     * ARN of the cluster's IAM OIDC provider (IRSA).
     * @default - derived from `oidcIssuerUrl` or the cluster
     */
    readonly oidcProviderArn?: pulumi.Input<string>;
    /**
     * The cluster's OIDC issuer URL (IRSA).
     * @default - looked up from `clusterName`
     */
    readonly oidcIssuerUrl?: pulumi.Input<string>;
    /**
     * An AWS provider for the cluster's region, when it is not the component's: the issuer lookup and the Pod
     * Identity associations use it.
     * @default - the component's provider
     */
    readonly provider?: aws.Provider;
}

/** The projected service-account token IRSA's webhook gives pods, set through the ServiceAccount's annotations. */
export interface WebIdentityToken {
    /**
     * The token's audience (`eks.amazonaws.com/audience`). The trust pins `<issuer>:aud` to it, and an OIDC
     * provider the component creates lists it; an existing provider must list it too.
     * @default "sts.amazonaws.com"
     */
    readonly audience?: string;
    /**
     * The token's lifetime in seconds (`eks.amazonaws.com/token-expiration`), 600 to 86400.
     * @default - the webhook's, 86400
     */
    readonly expirationSeconds?: number;
    /**
     * Have the SDKs call the regional STS endpoint (`eks.amazonaws.com/sts-regional-endpoints: "true"`), for
     * clusters whose nodes cannot reach the global endpoint.
     * @default - the webhook's setting
     */
    readonly stsRegionalEndpoints?: boolean;
}

/** One service account's own buckets under `roleSharing: "sessionPolicy"`. */
export interface SessionPolicyEntry {
    /** The service account, `namespace:name`: the component's primary one or one of `additionalServiceAccounts`. */
    readonly serviceAccount: string;
    /** Its buckets, each within the role's `buckets` (same bucket, no more access, prefixes inside the role's). */
    readonly buckets: BucketAccess[];
}

/** The arguments of {@link RayS3Access}. */
export interface RayS3AccessArgs {
    /**
     * How pods get credentials: `irsa`, `podIdentity`, or `irsaAndPodIdentity` (both, for the migration from one to
     * the other): see {@link IdentityType}.
     * @default "irsa"
     */
    readonly identity?: IdentityType;
    /**
     * The EKS cluster's name. Required for Pod Identity (the associations and the trust policy's
     * `eks-cluster-name` pin). For IRSA, used to look up the cluster's OIDC issuer when neither
     * `oidcProviderArn` nor `oidcIssuerUrl` is given.
     * @default - none
     */
    readonly clusterName?: pulumi.Input<string>;
    /**
     * ARN of the cluster's existing IAM OIDC provider (IRSA). Mutually exclusive with `oidcIssuerUrl` and
     * `createOidcProvider`.
     * @default - derived from `oidcIssuerUrl` or the cluster
     */
    readonly oidcProviderArn?: pulumi.Input<string>;
    /**
     * The cluster's OIDC issuer URL, `https://oidc.eks.REGION.amazonaws.com/id/ID` (IRSA).
     * @default - looked up from `clusterName`
     */
    readonly oidcIssuerUrl?: pulumi.Input<string>;
    /**
     * More clusters whose pods use the same role: IRSA trusts each cluster's OIDC provider (one statement each),
     * Pod Identity pins every cluster's name and creates each service account's association in every cluster.
     * @default - none
     */
    readonly additionalClusters?: AdditionalCluster[];
    /**
     * Write the role ARN on the ServiceAccount (`eks.amazonaws.com/role-arn`) when pods use web identity. Set
     * `false` in the second step of the IRSA to Pod Identity migration (`identity: "irsaAndPodIdentity"`): nothing
     * falls back to IRSA any more, and the trust still admits pods that have not restarted yet.
     * @default true
     */
    readonly annotateServiceAccount?: boolean;
    /**
     * Pod Identity: create the associations with EKS's session tags turned off (needed to chain into roles whose
     * trust you do not own, and for session policies). The trust can then pin only the account
     * (`aws:SourceAccount`): any association in the account that names the role can use it.
     * @default false
     */
    readonly disableSessionTags?: boolean;
    /**
     * `roleSharing: "sessionPolicy"`: every service account's own buckets; its association's session policy grants
     * exactly those (at most 2,048 characters, EKS's limit).
     * @default - none
     */
    readonly sessionPolicies?: SessionPolicyEntry[];
    /**
     * Create, per bucket entry and prefix, a static PersistentVolume and PersistentVolumeClaim for the Mountpoint for
     * Amazon S3 CSI driver (`s3.csi.aws.com`), mounted with the pod's own credentials (`authenticationSource: pod`),
     * so a RayCluster can mount checkpoints as files. Not for access points.
     * @default false
     */
    readonly mountpointVolumes?: boolean;
    /**
     * IRSA: the token options written on the ServiceAccount (audience, lifetime, regional STS).
     * @default - the webhook's defaults (audience sts.amazonaws.com)
     */
    readonly webIdentityToken?: WebIdentityToken;
    /**
     * Create the IAM OIDC provider for the issuer (IRSA). Leave `false` when the cluster already has one:
     * an account holds one provider per issuer URL.
     * @default false
     */
    readonly createOidcProvider?: boolean;
    /** The Kubernetes namespace of the workload's ServiceAccount. */
    readonly namespace: pulumi.Input<string>;
    /**
     * The ServiceAccount the workload's pods run as (a RayCluster's head and worker pods, a Kubeflow
     * profile's `default-editor`, SkyPilot's `skypilot-service-account`).
     * @default "ray-s3-sa"
     */
    readonly serviceAccountName?: pulumi.Input<string>;
    /**
     * `create`, `patch` or `none`: see {@link ServiceAccountMode}.
     * @default "create"
     */
    readonly manageServiceAccount?: ServiceAccountMode;
    /**
     * Pod Identity only: `require`, `create` or `ignore` the `eks-pod-identity-agent` add-on in each cluster: see
     * {@link PodIdentityAgent}. Needs `eks:DescribeCluster` and `eks:DescribeAddon` (and `eks:CreateAddon` for
     * `create`) for the deployer.
     * @default "require" (Pod Identity); not valid with identity "irsa"
     */
    readonly podIdentityAgent?: PodIdentityAgent;
    /** The buckets the workload may use; at least one. */
    readonly buckets: BucketAccess[];
    /**
     * More service accounts trusted by (IRSA) or associated with (Pod Identity) the same role, each
     * `namespace:name`.
     * @default - none
     */
    readonly additionalServiceAccounts?: string[];
    /**
     * The IAM role's name (at most 64 characters).
     * @default - generated from the component's name
     */
    readonly roleName?: pulumi.Input<string>;
    /**
     * The IAM path of the role and its policy.
     * @default "/"
     */
    readonly rolePath?: pulumi.Input<string>;
    /**
     * ARN of a managed policy used as the role's permissions boundary.
     * @default - no boundary
     */
    readonly permissionsBoundaryArn?: pulumi.Input<string>;
    /**
     * The role's maximum session duration in seconds, 3600 to 43200.
     * @default 3600
     */
    readonly maxSessionDuration?: number;
    /**
     * Tags for the role and the policy (and the Pod Identity associations).
     * @default - none
     */
    readonly tags?: { [key: string]: string };
    /**
     * More managed policies to attach to the role (their ARNs; each may be an Output, checked when it resolves).
     * @default - none
     */
    readonly additionalPolicyArns?: pulumi.Input<string>[];
    /**
     * `perTenant`, `abac` (Pod Identity: one role, namespaces isolated by session tags) or `sessionPolicy` (Pod
     * Identity: one role, each association limited by its own session policy): see {@link RoleSharing}.
     * @default "perTenant"
     */
    readonly roleSharing?: RoleSharing;
    /**
     * The AWS provider of the account that owns the buckets, when it is not the cluster's. The component then
     * creates there an assets role (trusting only the workload role) holding the S3 policy, and the workload
     * role may only assume it: Pod Identity chains to it through the association's target role; for IRSA the
     * component writes a ConfigMap with an AWS config profile (`role_arn` + `source_profile`) to mount.
     * @default - the buckets are in the workload's account
     */
    readonly assetsProvider?: aws.Provider;
    /**
     * An external id the assets role requires (IRSA cross-account only; the generated profile passes it).
     * @default - none
     */
    readonly assetsExternalId?: pulumi.Input<string>;
    /**
     * The most characters (without white space) the trust policy may have: IAM's quota for the account,
     * 2,048 by default and up to 8,192 after a Service Quotas increase. Input that would produce a longer
     * trust policy is rejected before anything is created.
     * @default 2048
     */
    readonly trustPolicyMaxLength?: number;
}
