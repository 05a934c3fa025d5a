/**
 * Ray training teams on an existing EKS cluster (EKS Pod Identity) that checkpoint to one S3 Express One Zone
 * directory bucket, each limited to its own prefix by an access point for directory buckets the component creates,
 * and a preprocessing namespace that reads the dataset as files through Mountpoint for Amazon S3, with a directory
 * bucket as Mountpoint's shared cache. The stack's AWS provider must be in the directory buckets' region (their zone
 * ids say which: `usw2-az1` is in us-west-2).
 */
import * as pulumi from "@pulumi/pulumi";
import { RayS3Access } from "../../components";

export function program() {
    const config = new pulumi.Config();
    const clusterName = config.require("clusterName");
    const checkpoints = config.get("checkpointBucket") ?? "ray-ckpt--usw2-az1--x-s3";
    const cache = config.get("cacheBucket") ?? "ray-cache--usw2-az1--x-s3";
    const teams = config.getObject<string[]>("teams") ?? ["team-a", "team-b"];

    const roles: Record<string, pulumi.Output<string>> = {};
    for (const team of teams) {
        // The pods name the access point `TEAM-ckpt--usw2-az1--xa-s3` where they would name the bucket.
        const training = new RayS3Access(team, {
            identity: "podIdentity",
            clusterName,
            namespace: team,
            serviceAccountName: "ray-worker",
            buckets: [
                { bucket: checkpoints, prefixes: [`${team}/`], createAccessPoint: true, accessPointName: `${team}-ckpt--usw2-az1--xa-s3` },
                { bucket: "ray-prod-datasets", access: "read", prefixes: ["imagenet/"] },
            ],
        });
        roles[team] = training.roleArn;
    }
    // The claim `s3-ray-prod-datasets-imagenet` in namespace `preprocess`, mounted with the pods' own credentials.
    const preprocess = new RayS3Access("preprocess", {
        identity: "podIdentity",
        clusterName,
        namespace: "preprocess",
        mountpointVolumes: true,
        buckets: [{ bucket: "ray-prod-datasets", access: "mountpoint", prefixes: ["imagenet/"], expressCache: cache }],
    });
    roles.preprocess = preprocess.roleArn;
    return roles;
}
