/**
 * ray-s3-access: least-privilege S3 access for pods on Amazon EKS through IRSA or EKS Pod Identity.
 *
 * The package entry: the component, every type its public signatures use, and the pure document builders.
 * It loads the Pulumi SDKs only; the runner (AWS SDK, Kubernetes client, yargs) lives in `bin/automation`.
 */
export { RayS3Access } from "./rayS3Access";
export { DEFAULT_SERVICE_ACCOUNT_NAME, IRSA_ROLE_ANNOTATION, POD_IDENTITY_PRINCIPAL, RAY_S3_ACCESS_TYPE } from "./constants";
export {
    AccessLevel,
    AdditionalCluster,
    BucketAccess,
    BucketKind,
    IdentityType,
    PodIdentityAgent,
    RayS3AccessArgs,
    RoleSharing,
    ServiceAccountMode,
    SessionPolicyEntry,
    WebIdentityToken,
} from "./types";
export { RayS3AccessValidationError } from "./validation";
export {
    buildAccessPointDelegationStatement,
    buildDirectoryAccessPointPolicy,
    buildS3PermissionsPolicy,
    directoryAccessPointScope,
    PolicyDocument,
    PolicyScope,
    PolicyStatement,
    ResolvedBucketAccess,
} from "./s3Policy";
export { buildIrsaTrustPolicy, buildPodIdentityTrustPolicy, PodIdentityTrustScope, serviceAccountSubject, ServiceAccountRef } from "./trustPolicy";
