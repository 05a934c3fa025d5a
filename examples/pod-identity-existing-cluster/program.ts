/**
 * An existing EKS cluster with the EKS Pod Identity Agent add-on: S3 access for a Ray namespace and for a
 * SkyPilot namespace, one Pod Identity association each, with an SSE-KMS bucket and a read-only dataset.
 */
import * as pulumi from "@pulumi/pulumi";
import { RayS3Access } from "../../components";

export function program() {
    const config = new pulumi.Config();
    const clusterName = config.require("clusterName");
    const kmsKeyArn = config.get("kmsKeyArn");

    const ray = new RayS3Access("ray", {
        identity: "podIdentity",
        clusterName,
        namespace: "ray",
        serviceAccountName: "ray-worker",
        additionalServiceAccounts: ["ray:ray-head"],
        buckets: [
            { bucket: "ray-prod-checkpoints", prefixes: ["ray/"], kmsKeyArns: kmsKeyArn ? [kmsKeyArn] : undefined },
            { bucket: "ray-prod-datasets", access: "read" },
        ],
    });
    const skypilot = new RayS3Access("skypilot", {
        identity: "podIdentity",
        clusterName,
        namespace: "skypilot",
        serviceAccountName: "skypilot-service-account",
        buckets: [{ bucket: "ray-prod-checkpoints", prefixes: ["skypilot/"] }],
    });
    return { rayRoleArn: ray.roleArn, skypilotRoleArn: skypilot.roleArn, rayAssociation: ray.podIdentityAssociationId };
}
