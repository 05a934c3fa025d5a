/**
 * The Kubernetes side: ServiceAccounts created or patched for IRSA, or created plain for Pod Identity.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { IRSA_ROLE_ANNOTATION } from "./constants";

/** The annotation IRSA's mutating webhook reads to inject the role and the token into pods. */
export { IRSA_ROLE_ANNOTATION };

export interface ServiceAccountSpec {
    /** Child resource name (from the component's name). */
    resourceName: string;
    namespace: pulumi.Input<string>;
    name: pulumi.Input<string>;
    /** The role to annotate with, for IRSA; undefined for Pod Identity. */
    roleArn?: pulumi.Input<string>;
    /** More annotations the IRSA webhook reads (audience, regional STS, token expiration), with the role. */
    webhookAnnotations?: { [key: string]: string };
    labels?: { [key: string]: string };
}

/** The annotations IRSA's webhook reads for one ServiceAccount. */
function irsaAnnotations(spec: ServiceAccountSpec): { [key: string]: pulumi.Input<string> } | undefined {
    return spec.roleArn === undefined ? undefined : { [IRSA_ROLE_ANNOTATION]: spec.roleArn, ...spec.webhookAnnotations };
}

/** `create`: a ServiceAccount, annotated for IRSA. */
export function createServiceAccount(spec: ServiceAccountSpec, opts: pulumi.CustomResourceOptions): k8s.core.v1.ServiceAccount {
    return new k8s.core.v1.ServiceAccount(
        spec.resourceName,
        {
            metadata: {
                name: spec.name,
                namespace: spec.namespace,
                labels: { "app.kubernetes.io/managed-by": "ray-s3-access", ...spec.labels },
                annotations: irsaAnnotations(spec),
            },
        },
        opts,
    );
}

/** `patch`: annotate an existing ServiceAccount (server-side apply; the rest of it stays its owner's). */
export function patchServiceAccount(
    spec: ServiceAccountSpec & { roleArn: pulumi.Input<string> },
    opts: pulumi.CustomResourceOptions,
): k8s.core.v1.ServiceAccountPatch {
    return new k8s.core.v1.ServiceAccountPatch(
        spec.resourceName,
        {
            metadata: {
                name: spec.name,
                namespace: spec.namespace,
                annotations: irsaAnnotations(spec),
            },
        },
        opts,
    );
}

/** The AWS config file pods mount to chain into the assets role (IRSA cross-account). */
export function createAwsConfigMap(
    resourceName: string,
    namespace: pulumi.Input<string>,
    serviceAccountName: pulumi.Input<string>,
    config: pulumi.Input<string>,
    opts: pulumi.CustomResourceOptions,
): k8s.core.v1.ConfigMap {
    return new k8s.core.v1.ConfigMap(
        resourceName,
        {
            metadata: {
                name: pulumi.interpolate`${serviceAccountName}-aws-config`,
                namespace,
                labels: { "app.kubernetes.io/managed-by": "ray-s3-access" },
            },
            data: { config },
        },
        opts,
    );
}

/** One Mountpoint for Amazon S3 volume: a bucket (or a prefix of it) for a namespace's pods. */
export interface MountpointVolumeSpec {
    resourceName: string;
    namespace: pulumi.Input<string>;
    /** The PersistentVolumeClaim's name (in the namespace); the PersistentVolume is `NAMESPACE-CLAIM`. */
    claimName: pulumi.Input<string>;
    bucket: pulumi.Input<string>;
    prefix?: string;
    readOnly: boolean;
    allowDelete: boolean;
    region: pulumi.Input<string>;
    /** IRSA: the STS region the driver uses for the pod's web-identity token. */
    stsRegion?: pulumi.Input<string>;
    /** A directory bucket Mountpoint uses as its shared cache (the `cache-xz` mount option). */
    expressCache?: pulumi.Input<string | undefined>;
    /** A directory bucket's zone id: the volume's pods are scheduled on nodes in that zone. */
    zoneId?: pulumi.Input<string | undefined>;
}

/** The zone-id label EKS (1.30 and later) puts on every node, the same in every account. */
export const ZONE_ID_LABEL = "topology.k8s.aws/zone-id";

/**
 * A static PersistentVolume and its PersistentVolumeClaim for the Mountpoint CSI driver (`s3.csi.aws.com`), with
 * the pod's own credentials (`authenticationSource: pod`), as the driver's static-provisioning examples write them.
 */
export function createMountpointVolume(spec: MountpointVolumeSpec, opts: pulumi.CustomResourceOptions): void {
    const labels = { "app.kubernetes.io/managed-by": "ray-s3-access" };
    const volumeName = pulumi.interpolate`${spec.namespace}-${spec.claimName}`;
    const mountOptions = pulumi
        .all([spec.region, spec.expressCache])
        .apply(([region, expressCache]) => [
            ...(spec.prefix ? [`prefix ${spec.prefix}`] : []),
            `region ${region}`,
            ...(spec.readOnly ? ["read-only"] : []),
            ...(spec.allowDelete ? ["allow-delete"] : []),
            ...(expressCache ? [`cache-xz ${expressCache}`] : []),
        ]);
    const nodeAffinity = (zoneId: string | undefined) =>
        zoneId ? { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: ZONE_ID_LABEL, operator: "In", values: [zoneId] }] }] } } : undefined;
    const accessModes = [spec.readOnly ? "ReadOnlyMany" : "ReadWriteMany"];
    new k8s.core.v1.PersistentVolume(
        `${spec.resourceName}-pv`,
        {
            metadata: { name: volumeName, labels },
            spec: {
                capacity: { storage: "1Gi" }, // required by Kubernetes, ignored by the driver
                accessModes,
                storageClassName: "", // static provisioning
                claimRef: { namespace: spec.namespace, name: spec.claimName },
                mountOptions,
                // A directory bucket lives in one zone: its pods run there, as the driver's S3 Express example does.
                ...(typeof spec.zoneId === "string"
                    ? { nodeAffinity: nodeAffinity(spec.zoneId) }
                    : spec.zoneId !== undefined
                      ? { nodeAffinity: pulumi.output(spec.zoneId).apply(nodeAffinity) }
                      : {}),
                csi: {
                    driver: "s3.csi.aws.com",
                    volumeHandle: volumeName,
                    volumeAttributes: {
                        bucketName: spec.bucket,
                        authenticationSource: "pod",
                        ...(spec.stsRegion !== undefined ? { stsRegion: spec.stsRegion } : {}),
                    },
                },
            },
        },
        opts,
    );
    new k8s.core.v1.PersistentVolumeClaim(
        `${spec.resourceName}-pvc`,
        {
            metadata: { name: spec.claimName, namespace: spec.namespace, labels },
            spec: { accessModes, storageClassName: "", resources: { requests: { storage: "1Gi" } }, volumeName },
        },
        opts,
    );
}
