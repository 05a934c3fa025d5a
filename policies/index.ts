/**
 * The ray-s3-access CrossGuard policy pack:
 *
 *     pulumi preview --policy-pack policies [--policy-pack-config policies/config/prod.json]
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./rules";

new PolicyPack("ray-s3-access", {
    description: "Least-privilege S3 for EKS workloads: no s3:* in production, and the IRSA / Pod Identity trust mistakes.",
    provider: "aws",
    tags: ["aws", "eks", "iam", "s3", "irsa", "pod-identity"],
    policies,
});
