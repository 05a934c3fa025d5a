/** The names this package spells once: the component's type token and the identifiers EKS and IAM define. */

/** The component's Pulumi type token. */
export const RAY_S3_ACCESS_TYPE = "ray-s3-access:index:RayS3Access";

/** The ServiceAccount a tenant's pods run as when none is named. */
export const DEFAULT_SERVICE_ACCOUNT_NAME = "ray-s3-sa";

/** The ServiceAccount annotation through which IRSA's webhook gives pods a role. */
export const IRSA_ROLE_ANNOTATION = "eks.amazonaws.com/role-arn";

/** The service principal of the EKS Pod Identity Agent. */
export const POD_IDENTITY_PRINCIPAL = "pods.eks.amazonaws.com";

/** The other ServiceAccount annotations IRSA's webhook reads (aws/amazon-eks-pod-identity-webhook). */
export const IRSA_AUDIENCE_ANNOTATION = "eks.amazonaws.com/audience";
export const IRSA_REGIONAL_STS_ANNOTATION = "eks.amazonaws.com/sts-regional-endpoints";
export const IRSA_TOKEN_EXPIRATION_ANNOTATION = "eks.amazonaws.com/token-expiration";
/** The webhook's bounds for the projected token's lifetime, in seconds (kube-apiserver's minimum, EKS's maximum). */
export const IRSA_TOKEN_EXPIRATION_RANGE = { min: 600, max: 86400 } as const;

/** The partition of an AWS region (`cn-north-1` is in aws-cn, `us-gov-west-1` in aws-us-gov, ...). */
export function regionPartition(region: string): string {
    if (region.startsWith("cn-")) return "aws-cn";
    if (region.startsWith("us-gov-")) return "aws-us-gov";
    if (region.startsWith("us-isob-")) return "aws-iso-b";
    if (region.startsWith("us-isof-") || region.startsWith("eu-isof-")) return "aws-iso-f";
    if (region.startsWith("eu-isoe-")) return "aws-iso-e";
    if (region.startsWith("us-iso-")) return "aws-iso";
    if (region.startsWith("eusc-")) return "aws-eusc";
    return "aws";
}

/** The EKS add-on that runs the Pod Identity agent on every node. */
export const POD_IDENTITY_AGENT_ADDON = "eks-pod-identity-agent";
/** The tag the add-on gets when this package creates it: who owns it (a hash of the project, stack and owner). */
export const AGENT_OWNER_TAG = "ray-s3-access/pod-identity-agent-owner";
