/**
 * A new EKS cluster (@pulumi/eks, with its IAM OIDC provider), a namespace, least-privilege S3 access for
 * it through IRSA, and a KubeRay RayCluster whose head and workers run as the annotated service account
 * and checkpoint to S3. Needs the KubeRay operator on the cluster (helm install kuberay-operator).
 */
import * as eks from "@pulumi/eks";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { RayS3Access } from "../../components";

export function program() {
    const config = new pulumi.Config();
    const bucket = config.get("checkpointBucket") ?? "my-ray-checkpoints";
    const rayImage = config.get("rayImage") ?? "rayproject/ray:2.40.0-py311";

    const cluster = new eks.Cluster("ray", {
        createOidcProvider: true,
        instanceType: "m6i.2xlarge",
        desiredCapacity: 2,
        minSize: 1,
        maxSize: 4,
    });
    const provider = new k8s.Provider("ray", { kubeconfig: cluster.kubeconfigJson });
    const namespace = new k8s.core.v1.Namespace("ray", { metadata: { name: "ray" } }, { provider });

    const access = new RayS3Access(
        "ray",
        {
            oidcProviderArn: cluster.oidcProviderArn,
            namespace: namespace.metadata.name,
            serviceAccountName: "ray-worker",
            buckets: [{ bucket, prefixes: ["checkpoints/"] }],
        },
        { providers: { kubernetes: provider } },
    );

    const podSpec = (name: string, cpu: string) => ({
        // The IRSA webhook injects AWS_ROLE_ARN and the token for pods of this service account.
        serviceAccountName: access.serviceAccountName,
        containers: [
            {
                name,
                image: rayImage,
                env: [{ name: "RAY_CHECKPOINT_URI", value: `s3://${bucket}/checkpoints/` }],
                resources: { requests: { cpu, memory: "8Gi" }, limits: { cpu, memory: "8Gi" } },
            },
        ],
    });
    const rayCluster = new k8s.apiextensions.CustomResource(
        "ray",
        {
            apiVersion: "ray.io/v1",
            kind: "RayCluster",
            metadata: { name: "ray", namespace: namespace.metadata.name },
            spec: {
                headGroupSpec: { rayStartParams: { "dashboard-host": "0.0.0.0" }, template: { spec: podSpec("ray-head", "2") } },
                workerGroupSpecs: [
                    { groupName: "workers", replicas: 2, minReplicas: 1, maxReplicas: 8, rayStartParams: {}, template: { spec: podSpec("ray-worker", "4") } },
                ],
            },
        },
        // The service account must carry its role before the pods start: the webhook only acts at pod creation.
        { provider, dependsOn: [access] },
    );

    return {
        kubeconfig: cluster.kubeconfig,
        roleArn: access.roleArn,
        rayCluster: rayCluster.metadata.name,
    };
}
