/**
 * ray-pods-use-the-service-account (issue: program authors): KubeRay resources in a namespace a RayS3Access serves
 * run every pod template as a service account the stack gives S3 access to. Shapes are KubeRay's own samples
 * (test/fixtures/kuberay, from ray-project/kuberay `ray-operator/config/samples/`, commit feeaf72f, Apache-2.0).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { rayPodsUseTheServiceAccount } from "../../policies/rules";
import { expectNone, expectViolations, resource, run } from "./harness";

const NAME = "ray-pods-use-the-service-account";
const SAMPLES = path.join(__dirname, "..", "fixtures", "kuberay");

/** A KubeRay sample's Ray resource, placed in `namespace`, as Pulumi registers a CustomResource of it. */
function sample(file: string, namespace = "ray"): { kind: string; object: any } {
    const object = (yaml.loadAll(fs.readFileSync(path.join(SAMPLES, file), "utf8")) as any[]).find((o) => o && /^Ray/.test(o.kind));
    object.metadata.namespace = namespace;
    return { kind: object.kind, object };
}

const asResource = ({ kind, object }: { kind: string; object: any }) => resource(`kubernetes:ray.io/v1:${kind}`, object.metadata.name, object);
const annotated = (namespace = "ray", name = "ray-s3-sa") =>
    resource("kubernetes:core/v1:ServiceAccount", `${namespace}-${name}`, {
        metadata: { name, namespace, annotations: { "eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/ray-s3" } },
    });
const association = (namespace = "ray", serviceAccount = "ray-s3-sa") =>
    resource("aws:eks/podIdentityAssociation:PodIdentityAssociation", `${namespace}-assoc`, {
        clusterName: "ml",
        namespace,
        serviceAccount,
        roleArn: "arn:aws:iam::111122223333:role/ray-s3",
    });

/** Every pod template of a Ray resource's spec set to run as `serviceAccount`. */
function runAs(spec: any, serviceAccount: string): void {
    const cluster = (c: any) => {
        if (!c?.headGroupSpec) return;
        c.headGroupSpec.template.spec.serviceAccountName = serviceAccount;
        for (const group of c.workerGroupSpecs ?? []) group.template.spec.serviceAccountName = serviceAccount;
    };
    cluster(spec);
    cluster(spec.rayClusterSpec);
    cluster(spec.rayClusterConfig);
}

describe(`policy ${NAME}`, () => {
    it("KubeRay's samples as shipped run as default: every pod template is reported, the submitter of a RayJob too", async () => {
        const cluster = sample("ray-cluster.sample.yaml");
        const job = sample("ray-job.sample.yaml");
        const service = sample("ray-service.sample.yaml");
        const v = await run([rayPodsUseTheServiceAccount], [annotated(), asResource(cluster), asResource(job), asResource(service)]);
        const workers = (spec: any) => spec.workerGroupSpecs.length;
        expectViolations(
            v,
            NAME,
            1 + workers(cluster.object.spec) + (1 + workers(job.object.spec.rayClusterSpec) + 1) + (1 + workers(service.object.spec.rayClusterConfig)),
        );
        assert.ok(v.some((x) => /RayCluster ray\/raycluster-kuberay .*head \(headGroupSpec\) runs as service account "default"/.test(x.message)));
        assert.ok(v.some((x) => /worker group "workergroup" \(workerGroupSpecs\[0\]\) runs as service account "default"/.test(x.message)));
        assert.ok(
            v.some((x) =>
                /RayJob ray\/rayjob-sample .*the job submitter \(submitterPodTemplate\) runs as service account "default".*Set serviceAccountName: ray-s3-sa/.test(
                    x.message,
                ),
            ),
        );
    });

    it("the same samples with every pod template (and a submitter template) running as the service account pass, for IRSA and Pod Identity", async () => {
        const cluster = sample("ray-cluster.sample.yaml");
        const job = sample("ray-job.sample.yaml");
        const service = sample("ray-service.sample.yaml");
        for (const s of [cluster, job, service]) runAs(s.object.spec, "ray-s3-sa");
        job.object.spec.submitterPodTemplate = {
            spec: { serviceAccountName: "ray-s3-sa", restartPolicy: "Never", containers: [{ name: "submitter", image: "rayproject/ray:2.52.0" }] },
        };
        expectNone(await run([rayPodsUseTheServiceAccount], [annotated(), asResource(cluster), asResource(job), asResource(service)]));
        expectNone(await run([rayPodsUseTheServiceAccount], [association(), asResource(cluster), asResource(job), asResource(service)]));
        // A RayJob on an HTTP or interactive submission runs no submitter pod.
        const http = sample("ray-job.sample.yaml");
        runAs(http.object.spec, "ray-s3-sa");
        http.object.spec.submissionMode = "HTTPMode";
        expectNone(await run([rayPodsUseTheServiceAccount], [annotated(), asResource(http)]));
    });

    it("the README's RayCluster passes; with one worker group left out it fails, naming that group", async () => {
        const podSpec = (name: string) => ({ serviceAccountName: "ray-worker", containers: [{ name, image: "rayproject/ray:2.52.0" }] });
        const rayCluster = (workers: any[]) =>
            resource("kubernetes:ray.io/v1:RayCluster", "ray", {
                apiVersion: "ray.io/v1",
                kind: "RayCluster",
                metadata: { name: "ray", namespace: "ray" },
                spec: { headGroupSpec: { rayStartParams: {}, template: { spec: podSpec("ray-head") } }, workerGroupSpecs: workers },
            });
        const workers = { groupName: "workers", replicas: 2, rayStartParams: {}, template: { spec: podSpec("ray-worker") } };
        expectNone(await run([rayPodsUseTheServiceAccount], [annotated("ray", "ray-worker"), rayCluster([workers])]));
        const gpu = {
            groupName: "gpu",
            replicas: 1,
            rayStartParams: {},
            template: { spec: { containers: [{ name: "ray-worker", image: "rayproject/ray:2.52.0" }] } },
        };
        expectViolations(
            await run([rayPodsUseTheServiceAccount], [annotated("ray", "ray-worker"), rayCluster([workers, gpu])]),
            NAME,
            1,
            /worker group "gpu" \(workerGroupSpecs\[1\]\) runs as service account "default", which this stack gives no S3 access in namespace "ray" \(it does to ray-worker\)/,
        );
    });

    it("judges only namespaces a RayS3Access serves, and reads unknown values as unknown", async () => {
        const elsewhere = sample("ray-cluster.sample.yaml", "other-team");
        expectNone(await run([rayPodsUseTheServiceAccount], [annotated(), asResource(elsewhere)]));
        expectNone(await run([rayPodsUseTheServiceAccount], [asResource(sample("ray-cluster.sample.yaml"))]));
    });
});
