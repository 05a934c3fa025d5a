/**
 * One benchmark process: evaluates N tenants under the SDK's mock engine, and prints one JSON line of
 * measurements. Run by bench/run.ts. Modes:
 * - `component`: one RayS3Access per tenant;
 * - `hand`: the same resources written by hand;
 * - `floor`: the hand-written resources as children of a bare ComponentResource per tenant. This is what the
 *   SDK charges for any component with these children, before a line of RayS3Access runs; the gap between
 *   `floor` and `component` is the component's own code.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { constants, PerformanceEntry, PerformanceObserver } from "perf_hooks";
import { RayS3Access } from "../components";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };

const [mode, tenantsArg] = process.argv.slice(2);
const tenants = Number(tenantsArg);
const ISSUER = "oidc.eks.us-west-2.amazonaws.com/id/BENCH0123456789";
const PROVIDER_ARN = `arn:aws:iam::111122223333:oidc-provider/${ISSUER}`;

let registered = 0;
pulumi.runtime.setMocks(
    {
        newResource: (args) => {
            registered++;
            const name = args.inputs.name ?? `${args.name}-abcdef1`;
            return { id: `${args.name}-id`, state: { ...args.inputs, name, arn: `arn:aws:iam::111122223333:x/${name}` } };
        },
        call: (args) => (args.token === "aws:index/getPartition:getPartition" ? { partition: "aws", dnsSuffix: "amazonaws.com" } : {}),
    },
    "bench",
    "bench",
    false,
);

function byComponent(i: number): void {
    new RayS3Access(`tenant-${i}`, {
        namespace: `team-${i}`,
        oidcProviderArn: PROVIDER_ARN,
        buckets: [{ bucket: "ray-checkpoints", prefixes: [`team-${i}/`] }],
    });
}

/** What a careful user writes without the component: the same four resources, with the same inputs. */
function byHand(i: number, partition: pulumi.Output<string>, opts: pulumi.CustomResourceOptions = {}): void {
    const namespace = `team-${i}`;
    const trust = JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                Effect: "Allow",
                Principal: { Federated: PROVIDER_ARN },
                Action: "sts:AssumeRoleWithWebIdentity",
                Condition: { StringEquals: { [`${ISSUER}:aud`]: "sts.amazonaws.com", [`${ISSUER}:sub`]: `system:serviceaccount:${namespace}:ray-s3-sa` } },
            },
        ],
    });
    const policyDocument = partition.apply((p) =>
        JSON.stringify({
            Version: "2012-10-17",
            Statement: [
                { Effect: "Allow", Action: ["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"], Resource: `arn:${p}:s3:::ray-checkpoints` },
                {
                    Effect: "Allow",
                    Action: "s3:ListBucket",
                    Resource: `arn:${p}:s3:::ray-checkpoints`,
                    Condition: { StringLike: { "s3:prefix": [`${namespace}/*`] } },
                },
                {
                    Effect: "Allow",
                    Action: [
                        "s3:GetObject",
                        "s3:GetObjectVersion",
                        "s3:PutObject",
                        "s3:DeleteObject",
                        "s3:AbortMultipartUpload",
                        "s3:ListMultipartUploadParts",
                    ],
                    Resource: [`arn:${p}:s3:::ray-checkpoints/${namespace}/*`],
                },
            ],
        }),
    );
    const role = new aws.iam.Role(
        `tenant-${i}-role`,
        {
            description: `S3 access for ${namespace}/ray-s3-sa (ray-s3-access, irsa)`,
            assumeRolePolicy: trust,
            maxSessionDuration: 3600,
        },
        opts,
    );
    const policy = new aws.iam.Policy(
        `tenant-${i}-policy`,
        {
            description: `Least-privilege S3 access for ${namespace}/ray-s3-sa (ray-s3-access)`,
            policy: policyDocument,
        },
        opts,
    );
    new aws.iam.RolePolicyAttachment(`tenant-${i}-policy-attachment`, { role: role.name, policyArn: policy.arn }, opts);
    new k8s.core.v1.ServiceAccount(
        `tenant-${i}-sa`,
        {
            metadata: {
                name: "ray-s3-sa",
                namespace,
                labels: { "app.kubernetes.io/managed-by": "ray-s3-access" },
                annotations: { "eks.amazonaws.com/role-arn": role.arn },
            },
        },
        opts,
    );
}

/** A bare component: what a user writes to group a tenant's resources, with nothing else in it. */
class TenantGroup extends pulumi.ComponentResource {
    constructor(name: string) {
        super("bench:index:Tenant", name, {});
    }
    done(): void {
        this.registerOutputs({});
    }
}

/** Full (mark-compact) collections and all GC pauses during the evaluation: where a mode's extra memory costs time. */
const gc = { major: 0, pauseMs: 0 };
const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
        gc.pauseMs += entry.duration;
        if ((entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.major++;
    }
});

async function main(): Promise<void> {
    gcObserver.observe({ entryTypes: ["gc"] });
    const heapBefore = process.memoryUsage().heapUsed;
    const start = process.hrtime.bigint();
    const cpuStart = process.cpuUsage();
    if (mode === "component") {
        for (let i = 0; i < tenants; i++) byComponent(i);
    } else if (mode === "floor") {
        const partition = aws.getPartitionOutput().partition;
        for (let i = 0; i < tenants; i++) {
            const group = new TenantGroup(`tenant-${i}`);
            byHand(i, partition, { parent: group });
            group.done();
        }
    } else if (mode === "hand") {
        const partition = aws.getPartitionOutput().partition;
        for (let i = 0; i < tenants; i++) byHand(i, partition);
    } else {
        throw new Error(`mode: "${mode}" is not one of component, hand, floor`);
    }
    await settings.waitForRPCs();
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    // CPU time of every thread of the process (the program and V8's GC and compiler threads): the work done,
    // which the VM's stolen time does not inflate the way it inflates wall time.
    const cpu = process.cpuUsage(cpuStart);
    // GC entries arrive on a later turn of the event loop: collect the evaluation's before forcing GCs below.
    await new Promise((resolve) => setTimeout(resolve, 100));
    gcObserver.disconnect();
    const usage = process.resourceUsage();
    const forceGc = (globalThis as { gc?: () => void }).gc;
    forceGc?.();
    forceGc?.();
    const retainedHeapMb = process.memoryUsage().heapUsed / 1048576;
    console.log(
        JSON.stringify({
            mode,
            tenants,
            ms,
            cpuMs: (cpu.user + cpu.system) / 1000,
            maxRssMb: usage.maxRSS / 1024,
            heapDeltaMb: (process.memoryUsage().heapUsed - heapBefore) / 1048576,
            retainedHeapMb,
            registered,
            majorGcs: gc.major,
            gcPauseMs: gc.pauseMs,
        }),
    );
}

main().catch((error) => {
    console.error(error);
    process.exit(1);
});
