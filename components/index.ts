/**
 * ray-s3-access: least-privilege S3 access for pods on Amazon EKS through IRSA or EKS Pod Identity.
 */
export { RayS3Access, RAY_S3_ACCESS_TYPE } from "./rayS3Access";
export { AccessLevel, BucketAccess, IdentityType, RayS3AccessArgs, ServiceAccountMode } from "./types";
export { RayS3AccessValidationError } from "./validation";
export { buildS3PermissionsPolicy, PolicyDocument, PolicyStatement } from "./s3Policy";
export { buildIrsaTrustPolicy, buildPodIdentityTrustPolicy, serviceAccountSubject } from "./trustPolicy";
